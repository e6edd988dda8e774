"""Every model config under configs/ loads and builds (pretrained initialisation switched off);
configs/deploy/ holds mmdeploy's deploy configs (tests/deploy/test_mmdeploy.py)."""
import glob
import os

import pytest
from mmengine.config import Config

import mmdet_psroi.plugin  # noqa: F401
from mmdet_psroi_tools.config_checks import check_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(path for path in glob.glob(os.path.join(ROOT, 'configs', '**', '*.py'),
                                            recursive=True)
                 if f'{os.sep}_base_{os.sep}' not in path
                 and not path.startswith(os.path.join(ROOT, 'configs', 'deploy', '')))


def test_configs_are_found():
    assert len(CONFIGS) >= 15


@pytest.mark.parametrize('path', CONFIGS, ids=[os.path.relpath(p, ROOT) for p in CONFIGS])
def test_config_loads_and_builds(path):
    from mmdet.utils import register_all_modules

    from tests.config_helpers import load_and_build

    register_all_modules()
    _, model = load_and_build(path)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_num_classes_mismatch_with_the_dataset_is_named():
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'rfcn', 'rfcn_r50-c4_1x_coco.py'))
    cfg.train_dataloader.dataset.metainfo = dict(classes=('tree', ))
    with pytest.raises(ValueError, match=r'num_classes=80 but train_dataloader.dataset.metainfo'
                                         r'.classes lists 1 classes'):
        check_config(cfg)


def _config(path):
    """A config of this repository (``configs/...``) or of mmdet (``mmdet::...``)."""
    if path.startswith('mmdet::'):
        import mmdet

        return Config.fromfile(os.path.join(os.path.dirname(mmdet.__file__), '.mim', 'configs',
                                            path[len('mmdet::'):]))
    return Config.fromfile(os.path.join(ROOT, 'configs', path))


def _plain(node):
    """A config node as plain dicts and lists, without the ``_scope_`` keys mmengine adds to
    what it reads from another package's files."""
    if hasattr(node, 'to_dict'):
        node = node.to_dict()
    if isinstance(node, dict):
        return {key: _plain(value) for key, value in node.items() if key != '_scope_'}
    if isinstance(node, (list, tuple)):
        return type(node)(_plain(value) for value in node)
    return node


def _schedule(cfg):
    """What a schedule file sets: optimizer, learning-rate schedule, loop, base batch size."""
    return _plain(dict(optim_wrapper=cfg.optim_wrapper, param_scheduler=cfg.param_scheduler,
                       train_cfg=cfg.train_cfg, auto_scale_lr=cfg.auto_scale_lr))


def _with_weight_decay(schedule, weight_decay):
    schedule['optim_wrapper']['optimizer']['weight_decay'] = weight_decay
    return schedule


MMDET_C4_COCO = 'mmdet::faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py'
MMDET_VOC = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'  # mmdet's VOC schedule
# R-FCN configs and the mmdet config whose data and schedule each one claims.
RFCN_C4 = {
    'rfcn/rfcn_r50-c4_1x_coco.py': MMDET_C4_COCO,
    'rfcn/rfcn_r101-c4_1x_coco.py': MMDET_C4_COCO,
    'rfcn/rfcn_r50-c4_ohem_1x_coco.py': MMDET_C4_COCO,
    'rfcn/rfcn_r101-c4_ohem_1x_coco.py': MMDET_C4_COCO,
    'rfcn/rfcn_r50-c4_ohem_voc0712.py': MMDET_VOC,
    'rfcn/rfcn_r101-c4_ohem_voc0712.py': MMDET_VOC,
    'ablations/rfcn_r50-c4_k1_1x_coco.py': MMDET_C4_COCO,
    'ablations/rfcn_r50-c4_k3_1x_coco.py': MMDET_C4_COCO,
    'ablations/rfcn_r50-c4_k7_1x_coco.py': MMDET_C4_COCO,
    'ablations/rfcn_r50-c4_psroialign_1x_coco.py': MMDET_C4_COCO,
    'ablations/rfcn_r50-c4_mmdet-ohem_1x_coco.py': MMDET_C4_COCO,
}


@pytest.mark.parametrize('path', sorted(RFCN_C4))
def test_rfcn_configs_have_the_papers_settings(path):
    """R-FCN (Dai et al., 2016), section 2: k=7 (k=1, 3 in the k ablation), class-agnostic
    boxes from 4k^2 maps, conv5 dilated to stride 16, 300 RoIs per image in training and at
    test, 128 of them per image for the loss (with OHEM the 128 of highest classification +
    box loss, all RoIs of the image ranked together; mmdet's OHEMSampler in the ablation that
    compares the two), positives at IoU >= 0.5 and negatives below, detections suppressed at
    0.3 IoU, RPN NMS at 0.7, weight decay 0.0005 and momentum 0.9; everything else (data,
    schedule) as the mmdet config it is built on."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    cfg = _config(path)
    model = cfg.model
    head, extractor = model.roi_head.bbox_head, model.roi_head.bbox_roi_extractor
    k = 1 if '_k1_' in path else 3 if '_k3_' in path else 7
    assert head.roi_feat_size == k and 'output_size' not in extractor.roi_layer  # stated once
    register_all_modules()
    assert MODELS.build(model.roi_head).bbox_roi_extractor.output_size == (k, k)
    assert head.reg_class_agnostic is True
    assert (model.backbone.strides, model.backbone.dilations) == ((1, 2, 2, 1), (1, 1, 1, 2))
    assert (model.rpn_in_indices, model.roi_in_indices) == ((0, ), (1, ))
    assert model.train_cfg.rpn_proposal.max_per_img == model.test_cfg.rpn.max_per_img == 300
    sampler = model.train_cfg.rcnn.sampler
    assert sampler.type == ('OHEMSampler' if '_mmdet-ohem_' in path else
                            'TotalLossOHEMSampler' if '_ohem_' in path else 'RandomSampler')
    assert sampler.num == 128
    assigner = model.train_cfg.rcnn.assigner
    assert assigner.pos_iou_thr == assigner.neg_iou_thr == 0.5
    assert model.test_cfg.rcnn.nms.iou_threshold == 0.3
    assert (model.train_cfg.rpn_proposal.nms.iou_threshold
            == model.test_cfg.rpn.nms.iou_threshold == 0.7)
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.weight_decay, optimizer.momentum) == (0.0005, 0.9)

    reference = _config(RFCN_C4[path])
    assert _schedule(cfg) == _with_weight_decay(_schedule(reference), 0.0005)
    assert _plain(cfg.train_dataloader) == _plain(reference.train_dataloader)
    assert _plain(cfg.test_dataloader) == _plain(reference.test_dataloader)
    assert head.num_classes == (20 if 'voc0712' in path else 80)


BASELINES = {  # config: the mmdet config whose data and schedule it claims
    'baselines/mmdet-stock_faster-rcnn_r50-caffe-c4_1x_coco.py': MMDET_C4_COCO,
    'baselines/mmdet-stock_faster-rcnn_r101-caffe-c4_1x_coco.py': MMDET_C4_COCO,
    'baselines/mmdet-stock_faster-rcnn_r50-caffe-c4_voc0712.py': MMDET_VOC,
    'baselines/mmdet-stock_faster-rcnn_r101-caffe-c4_voc0712.py': MMDET_VOC,
}


def _model_without(cfg, depth_101=False, num_classes=None):
    """The model config as a dict, with ResNet-101's depth and weights mapped back to 50 and
    ``num_classes`` removed, to compare a variant with the mmdet model it is built on."""
    model = _plain(cfg.model)
    if depth_101:
        for part in (model['backbone'], model['roi_head']['shared_head']):
            assert part['depth'] == 101
            assert part['init_cfg']['checkpoint'] == 'open-mmlab://detectron2/resnet101_caffe'
            part['depth'] = 50
            part['init_cfg']['checkpoint'] = 'open-mmlab://detectron2/resnet50_caffe'
    if num_classes is not None:
        assert model['roi_head']['bbox_head'].pop('num_classes') == num_classes
    return model


@pytest.mark.parametrize('path', sorted(BASELINES))
def test_stock_baselines_are_mmdets_faster_rcnn_c4(path):
    """mmdet's Faster R-CNN C4 model; on COCO mmdet's 1x config, on VOC mmdet's VOC dataset
    and schedule (lr 0.01 for 8 GPUs x 2 images, 4 epochs of the 3x repeated set)."""
    cfg, reference = _config(path), _config(BASELINES[path])
    voc = 'voc0712' in path
    c4 = _config(MMDET_C4_COCO)
    assert (_model_without(cfg, 'r101' in path, 20 if voc else None)
            == _model_without(c4, num_classes=80 if voc else None))
    assert _schedule(cfg) == _schedule(reference)
    assert cfg.optim_wrapper.optimizer.lr == (0.01 if voc else 0.02)
    assert _plain(cfg.train_dataloader) == _plain(reference.train_dataloader)
    assert _plain(cfg.test_dataloader) == _plain(reference.test_dataloader)


def test_rfcn_on_fpn_differs_from_mmdets_faster_rcnn_fpn_only_in_the_roi_head():
    cfg = _config('ablations/rfcn_r50_fpn_1x_coco.py')
    reference = _config('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py')
    model, reference_model = _plain(cfg.model), _plain(reference.model)
    assert (model.pop('type'), model.pop('roi_head')['type']) == ('RFCN', 'RFCNRoIHead')
    reference_model.pop('type'), reference_model.pop('roi_head')
    assert model == reference_model
    assert cfg.model.roi_head.bbox_head.reg_class_agnostic is True
    assert cfg.model.roi_head.bbox_head.roi_feat_size == 7
    assert _schedule(cfg) == _schedule(reference)


def test_neon_trees_configs_differ_only_in_the_roi_head():
    """The demo compares RoI heads: backbone, RPN, data and schedule must be the same."""
    paths = sorted(glob.glob(os.path.join(ROOT, 'configs', 'neon_trees', '*.py')))
    configs = [Config.fromfile(path) for path in paths]
    assert len(configs) == 3
    rest = []
    for cfg in configs:
        as_dict = cfg.to_dict()
        model = as_dict.pop('model')
        model.pop('type'), model.pop('roi_head')
        rest.append((model, as_dict))
        if cfg.model.type == 'RFCN':
            head = cfg.model.roi_head.bbox_head
            assert head.roi_feat_size == 7 and head.reg_class_agnostic is True
    assert all(item == rest[0] for item in rest[1:])
