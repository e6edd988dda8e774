"""Every R-FCN config under configs/rfcn/ and every COCO/VOC config of the projects has a
controlled Faster R-CNN RoIAlign baseline that differs from it only in the RoI head."""
import functools
import glob
import os

import pytest
from mmengine.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIGHT_HEAD = 'projects/LightHeadRCNN/configs/'
DEFORMABLE = 'projects/DeformableRFCN/configs/'
PAIRS = {  # config: its controlled baseline
    'configs/rfcn/rfcn_r50-c4_1x_coco.py':
        'configs/baselines/faster-rcnn_roialign_r50-c4_1x_coco.py',
    'configs/rfcn/rfcn_r101-c4_1x_coco.py':
        'configs/baselines/faster-rcnn_roialign_r101-c4_1x_coco.py',
    'configs/rfcn/rfcn_r50-c4_ohem_1x_coco.py':
        'configs/baselines/faster-rcnn_roialign_r50-c4_ohem_1x_coco.py',
    'configs/rfcn/rfcn_r101-c4_ohem_1x_coco.py':
        'configs/baselines/faster-rcnn_roialign_r101-c4_ohem_1x_coco.py',
    'configs/rfcn/rfcn_r50-c4_ohem_voc0712.py':
        'configs/baselines/faster-rcnn_roialign_r50-c4_ohem_voc0712.py',
    'configs/rfcn/rfcn_r101-c4_ohem_voc0712.py':
        'configs/baselines/faster-rcnn_roialign_r101-c4_ohem_voc0712.py',
    LIGHT_HEAD + 'lighthead-rcnn_r50-c4_ohem_1x_coco.py':
        LIGHT_HEAD + 'baselines/faster-rcnn_roialign_lighthead-settings_r50-c4_ohem_1x_coco.py',
    LIGHT_HEAD + 'lighthead-rcnn_r101-c4_ohem_1x_coco.py':
        LIGHT_HEAD + 'baselines/faster-rcnn_roialign_lighthead-settings_r101-c4_ohem_1x_coco.py',
    LIGHT_HEAD + 'lighthead-rcnn_psroialignmax-classreg_r101-c4_ohem_1x_coco.py':
        LIGHT_HEAD + 'baselines/faster-rcnn_roialign_lighthead-settings_r101-c4_ohem_1x_coco.py',
    DEFORMABLE + 'deformable-rfcn_r50-c4-dconv-c5_ohem_1x_coco.py':
        DEFORMABLE + 'baselines/faster-rcnn_roialign_r50-c4-dconv-c5_ohem_1x_coco.py',
    DEFORMABLE + 'deformable-rfcn_r101-c4-dconv-c5_ohem_1x_coco.py':
        DEFORMABLE + 'baselines/faster-rcnn_roialign_r101-c4-dconv-c5_ohem_1x_coco.py',
    DEFORMABLE + 'deformable-rfcn_r50-c4-dconv-c5_ohem_voc0712.py':
        DEFORMABLE + 'baselines/faster-rcnn_roialign_r50-c4-dconv-c5_ohem_voc0712.py',
    DEFORMABLE + 'deformable-rfcn_r101-c4-dconv-c5_ohem_voc0712.py':
        DEFORMABLE + 'baselines/faster-rcnn_roialign_r101-c4-dconv-c5_ohem_voc0712.py',
}
# What may differ within a pair: the RoI head's type, extractor and box head, and what they
# force: Light-Head's per-image thin-map conv (part of its head) and the baseline head's
# definition, a top-level variable of configs/_base_/models/roialign-2fc_head.py.
HEAD_KEYS = (
    ('model', 'roi_head', 'type'),
    ('model', 'roi_head', 'bbox_roi_extractor'),
    ('model', 'roi_head', 'bbox_head'),
    ('model', 'roi_head', 'thin_map_conv'),
    ('roialign_2fc_roi_head', ),
)
# Box settings the two heads share (inside bbox_head, so HEAD_KEYS would let them differ).
SHARED_BOX_SETTINGS = ('num_classes', 'reg_class_agnostic', 'bbox_coder', 'loss_cls',
                       'loss_bbox')
# Configs whose header documents a box setting their baseline does not share.
PER_CLASS_BOXES = {LIGHT_HEAD + 'lighthead-rcnn_psroialignmax-classreg_r101-c4_ohem_1x_coco.py'}


def differences(a, b, path=()):
    """The key paths (tuples) at which the nested dicts/lists ``a`` and ``b`` differ; a key
    present on one side only is one difference."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in sorted(set(a) | set(b), key=str):
            if key in a and key in b:
                found += differences(a[key], b[key], path + (key, ))
            else:
                found.append(path + (key, ))
        return found
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        found = []
        for index, (x, y) in enumerate(zip(a, b)):
            found += differences(x, y, path + (index, ))
        return found
    return [] if a == b else [path]


def outside_the_head(paths):
    return [path for path in paths if not any(path[:len(key)] == key for key in HEAD_KEYS)]


def _load(path):
    return Config.fromfile(os.path.join(ROOT, path), import_custom_modules=False)


@functools.lru_cache(maxsize=None)
def _loaded(path):
    """``_load``, once per path; for tests that do not change the config."""
    return _load(path)


def _method_configs():
    """configs/rfcn/*.py and the projects' COCO/VOC configs (their baselines live in
    baselines/ folders)."""
    found = glob.glob(os.path.join(ROOT, 'configs', 'rfcn', '*.py'))
    for project in ('LightHeadRCNN', 'DeformableRFCN'):
        found += [path for path in glob.glob(os.path.join(ROOT, 'projects', project, 'configs',
                                                          '*.py'))
                  if '_coco' in path or '_voc' in path]
    return sorted(os.path.relpath(path, ROOT) for path in found)


def test_every_rfcn_and_project_coco_voc_config_has_a_baseline():
    assert _method_configs() == sorted(PAIRS)


@pytest.mark.parametrize('path', sorted(PAIRS))
def test_config_differs_from_its_baseline_only_in_the_roi_head(path):
    cfg, baseline = _loaded(path), _loaded(PAIRS[path])
    found = differences(cfg.to_dict(), baseline.to_dict())
    assert outside_the_head(found) == []
    assert ('model', 'roi_head', 'type') in found  # the heads do differ
    assert baseline.model.roi_head.type == 'StandardRoIHead'
    assert baseline.model.roi_head.bbox_roi_extractor.roi_layer.type == 'RoIAlign'
    head, baseline_head = cfg.model.roi_head.bbox_head, baseline.model.roi_head.bbox_head
    for key in SHARED_BOX_SETTINGS:
        if not (key == 'reg_class_agnostic' and path in PER_CLASS_BOXES):
            assert head[key] == baseline_head[key], key


@pytest.mark.parametrize('path', sorted(PAIRS))
def test_header_names_the_baseline_by_its_relative_path(path):
    with open(os.path.join(ROOT, path)) as f:
        header = ''.join(line for line in f if line.startswith('#'))
    assert os.path.relpath(PAIRS[path], os.path.dirname(path)) in header


def test_a_changed_setting_outside_the_head_is_found():
    path = 'configs/rfcn/rfcn_r50-c4_ohem_1x_coco.py'
    cfg, baseline = _load(path), _load(PAIRS[path])
    baseline.model.test_cfg.rcnn.nms.iou_threshold = 0.5
    baseline.model.train_cfg.rcnn.sampler.num = 512
    baseline.optim_wrapper.optimizer.weight_decay = 0.0001
    assert outside_the_head(differences(cfg.to_dict(), baseline.to_dict())) == [
        ('model', 'test_cfg', 'rcnn', 'nms', 'iou_threshold'),
        ('model', 'train_cfg', 'rcnn', 'sampler', 'num'),
        ('optim_wrapper', 'optimizer', 'weight_decay'),
    ]


def test_baselines_folder_holds_controlled_and_mmdet_stock_configs_only():
    names = sorted(os.path.basename(path)
                   for path in glob.glob(os.path.join(ROOT, 'configs', 'baselines', '*.py')))
    controlled = sorted({os.path.basename(baseline) for baseline in PAIRS.values()
                         if baseline.startswith('configs/baselines/')})
    assert [name for name in names if not name.startswith('mmdet-stock_')] == controlled
    assert len(names) - len(controlled) == 4


@pytest.mark.parametrize('path', sorted({baseline for baseline in PAIRS.values()
                                         if baseline.startswith('projects/')}))
def test_project_baseline_builds_with_the_papers_ohem(path):
    """configs/ baselines are built by test_configs.py; the projects' are built here."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    from mmdet_psroi_tools.config_checks import without_pretrained

    register_all_modules()
    cfg = Config.fromfile(os.path.join(ROOT, path))  # with its custom_imports, which register
    model = MODELS.build(without_pretrained(cfg.model))
    assert type(model.roi_head.bbox_sampler).__name__ == 'TotalLossOHEMSampler'
