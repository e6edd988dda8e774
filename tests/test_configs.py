"""Every config under configs/ loads and builds (pretrained initialisation switched off)."""
import glob
import os

import pytest
from mmengine.config import Config

import mmdet_psroi  # noqa: F401
from mmdet_psroi.utils.config_checks import check_config, without_pretrained

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(path for path in glob.glob(os.path.join(ROOT, 'configs', '**', '*.py'),
                                            recursive=True)
                 if f'{os.sep}_base_{os.sep}' not in path)


def test_configs_are_found():
    assert len(CONFIGS) >= 15


@pytest.mark.parametrize('path', CONFIGS, ids=[os.path.relpath(p, ROOT) for p in CONFIGS])
def test_config_loads_and_builds(path):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(path)
    with open(path) as f:
        assert f.readline().startswith('#'), 'every config starts with a header comment'
    check_config(cfg)
    model = MODELS.build(without_pretrained(cfg.model))
    assert sum(p.numel() for p in model.parameters()) > 0


def test_num_classes_mismatch_with_the_dataset_is_named():
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'rfcn', 'rfcn_r50-c4_1x_coco.py'))
    cfg.train_dataloader.dataset.metainfo = dict(classes=('tree', ))
    with pytest.raises(ValueError, match=r'num_classes=80 but train_dataloader.dataset.metainfo'
                                         r'.classes lists 1 classes'):
        check_config(cfg)
