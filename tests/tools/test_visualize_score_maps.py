"""tools/visualize_score_maps.py on a tiny randomly initialised R-FCN."""
import os
import subprocess
import sys

import cv2
import numpy as np
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.runner import save_checkpoint

import mmdet_psroi.plugin  # noqa: F401
from tests.models.tiny import tiny_experiment_cfg, tiny_rfcn_fpn_cfg, write_coco_dataset
from tests.tools.tool_module import load_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_draws_maps_and_bins(tmp_path):
    register_all_modules()
    ann_file = write_coco_dataset(str(tmp_path / 'data'), num_images=1)
    cfg = tiny_experiment_cfg(str(tmp_path / 'data'), ann_file)
    config = str(tmp_path / 'tiny.py')
    Config(cfg.to_dict()).dump(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    checkpoint = str(tmp_path / 'tiny.pth')
    save_checkpoint(dict(state_dict=model.state_dict(),
                         meta=dict(dataset_meta=dict(classes=('box', 'disc')))), checkpoint)
    image = str(tmp_path / 'image.png')
    cv2.imwrite(image, np.random.default_rng(0).integers(0, 255, (96, 96, 3), np.uint8))
    out = str(tmp_path / 'maps.png')
    base = [sys.executable, 'tools/visualize_score_maps.py', config, checkpoint, image]
    result = subprocess.run(base + ['--class-index', '1', '--roi', '10', '12', '70', '80',
                                    '--out', out], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert cv2.imread(out) is not None and cv2.imread(out).shape[1] > 400

    for extra, message in ((['--roi', '10', '12', '5', '80'], '--roi must satisfy x2 > x1'),
                           (['--class-index', '5', '--roi', '10', '12', '70', '80'],
                            r'--class-index must be in [0, 2)')):
        bad = subprocess.run(base + extra, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert bad.returncode != 0 and message in bad.stderr, bad.stderr[-2000:]


def _tool():
    return load_tool('visualize_score_maps.py', 'visualize_score_maps')


def test_multi_level_model_shows_the_level_the_roi_is_pooled_from():
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(tiny_rfcn_fpn_cfg())
    model.eval()
    batch = model.data_preprocessor(demo_mm_inputs(batch_size=1, image_shapes=[(3, 128, 128)],
                                                   num_classes=2), False)
    roi = [4.0, 6.0, 124.0, 120.0]  # scale 117 px: level 1 (stride 8) with finest_scale 56
    maps, _, pooled, score, stride = _tool().score_maps_and_roi(model, batch, 1, roi)
    assert stride == 8 and score is None
    with torch.no_grad():
        x_roi = model.extract_feat(batch['inputs'])
        expected = model.roi_head._bbox_forward(model.roi_head.compute_maps(x_roi),
                                                torch.tensor([[0.0] + roi]))
        level_maps = model.roi_head.bbox_head.forward_maps(x_roi[1])[0, :3 * 3 * 3]
    torch.testing.assert_close(pooled, expected['bbox_feats'][0, 1])  # what the model pooled
    torch.testing.assert_close(maps, level_maps.reshape(3, 3, 3, *level_maps.shape[-2:])[1])
