"""Tiny detectors of every head the export supports (random weights), a test image, and
mmdet's own prediction for it, for the export's tests."""
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmengine.config import ConfigDict

import mmdet_psroi.plugin  # noqa: F401
from tests.models.tiny import tiny_rfcn_cfg, tiny_rfcn_fpn_cfg

register_all_modules()


def tiny_faster_rcnn_fpn_cfg(reg_class_agnostic=False, sampling_ratio=2, aligned=True):
    """The baseline's structure on the tiny FPN: RoI Align 7x7 from the RoI's level, 2 fc."""
    cfg = tiny_rfcn_fpn_cfg()
    cfg.update(type='FasterRCNN')
    for key in ('rpn_in_indices', 'roi_in_indices'):
        cfg.pop(key)
    ps_head = cfg.roi_head.bbox_head
    cfg.roi_head = ConfigDict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor', out_channels=32, featmap_strides=[4, 8, 16, 32],
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=sampling_ratio,
                           aligned=aligned)),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=32, fc_out_channels=64,
                       roi_feat_size=7, num_classes=ps_head.num_classes,
                       reg_class_agnostic=reg_class_agnostic, bbox_coder=ps_head.bbox_coder,
                       loss_cls=ps_head.loss_cls, loss_bbox=ps_head.loss_bbox))
    return cfg


def tiny_lighthead_fpn_cfg():
    """Light-Head's RoI head (separable conv to 4*3*3 thin maps, PSRoIAlign 3x3, fc 64) on
    the tiny FPN."""
    cfg = tiny_rfcn_fpn_cfg()
    ps_head = cfg.roi_head.bbox_head
    cfg.roi_head = ConfigDict(
        type='LightHeadRoIHead',
        thin_map_conv=dict(type='LargeSeparableConv', in_channels=32, mid_channels=8,
                           out_channels=4 * 3 * 3, kernel_size=5),
        bbox_roi_extractor=dict(type='PSRoIExtractor', featmap_strides=[4, 8, 16, 32],
                                roi_layer=dict(type='PSRoIAlign', output_size=3,
                                               sampling_ratio=2)),
        bbox_head=dict(type='ConvFCBBoxHead', num_shared_convs=0, num_shared_fcs=1,
                       in_channels=4, fc_out_channels=64, roi_feat_size=3,
                       num_classes=ps_head.num_classes, reg_class_agnostic=True,
                       bbox_coder=ps_head.bbox_coder, loss_cls=ps_head.loss_cls,
                       loss_bbox=ps_head.loss_bbox))
    return cfg


def tiny_deformable_fpn_cfg(rule='torchvision'):
    """Deformable R-FCN's RoI head (k=3, 2x2 samples per part, the samples placed by
    ``rule``) on the tiny FPN."""
    cfg = tiny_rfcn_fpn_cfg()
    cfg.roi_head.update(type='DeformableRFCNRoIHead')
    cfg.roi_head.bbox_roi_extractor.update(
        type='PSRoIExtractor',
        roi_layer=dict(type='DeformPSRoIPool', output_size=3, part_size=3, sample_per_part=2,
                       trans_std=0.1, rule=rule))
    cfg.roi_head.bbox_head.type = 'DeformablePSBBoxHead'
    return cfg


def tiny_py_faster_rcnn_cfg():
    """The conventions of the models converted from Deformable-ConvNets on the tiny C4 R-FCN:
    py-faster-rcnn's anchors and +1-pixel box decoding (RPN and head), NMS with ``offset=1``
    (+1-pixel areas). PS RoI Align: PSRoIPool's quantised bins give random weights' RoIs
    bitwise-equal scores, which mmdet's unstable sort orders either way."""
    cfg = tiny_rfcn_cfg(roi_layer='PSRoIAlign')
    cfg.rpn_head.anchor_generator.type = 'PyFasterRCNNAnchorGenerator'
    for coder in (cfg.rpn_head.bbox_coder, cfg.roi_head.bbox_head.bbox_coder):
        coder.type = 'PyFasterRCNNBBoxCoder'
    for stage in ('rpn', 'rcnn'):
        cfg.test_cfg[stage].nms.offset = 1
    return cfg


# name -> (config builder, projects package the config imports)
CASES = {
    'rfcn_c4_psroialign': (lambda: tiny_rfcn_cfg(roi_layer='PSRoIAlign'), None),
    'rfcn_fpn_psroipool': (lambda: tiny_rfcn_fpn_cfg(), None),
    # the original quantisation of the converted R-FCN (on the FPN: its stride-4 maps give
    # random weights' RoIs fewer bitwise-equal scores than the C4 map)
    'rfcn_fpn_psroipool_caffe_rule': (lambda: tiny_rfcn_fpn_cfg(roi_rule='caffe'), None),
    'rfcn_c4_py_faster_rcnn': (tiny_py_faster_rcnn_cfg, None),
    'faster_rcnn_fpn_roialign': (tiny_faster_rcnn_fpn_cfg, None),
    'lighthead_fpn': (tiny_lighthead_fpn_cfg, 'projects.LightHeadRCNN.lighthead_rcnn'),
    'deformable_rfcn_fpn': (tiny_deformable_fpn_cfg, 'projects.DeformableRFCN.deformable_rfcn'),
    'deformable_rfcn_fpn_mxnet_rule': (lambda: tiny_deformable_fpn_cfg(rule='mxnet'),
                                       'projects.DeformableRFCN.deformable_rfcn'),
}


def build_tiny(name, seed=0, **overrides):
    """The tiny detector ``name`` of :data:`CASES` in eval mode, with PyTorch's default random
    weights from ``seed`` (``init_weights`` is not called: Deformable R-FCN's offset convs are
    random, so its offsets move the bins). ``overrides`` update the config's ``test_cfg``."""
    import importlib

    make_cfg, package = CASES[name]
    if package is not None:
        importlib.import_module(package)
    cfg = make_cfg()
    for stage, settings in overrides.items():
        cfg.test_cfg[stage].update(settings)
    torch.manual_seed(seed)
    return MODELS.build(cfg).eval()


def sample_image(height=100, width=140, seed=0):
    """A uint8 ``(3, H, W)`` image with bright rectangles on noise (something to detect)."""
    generator = torch.Generator().manual_seed(seed)
    image = torch.randint(0, 80, (3, height, width), generator=generator, dtype=torch.uint8)
    image[:, 10:40, 20:70] = 230
    image[:, height // 2:height - 5, width // 2:width - 20] = 200
    return image


def mmdet_predict(model, image):
    """mmdet's ``model.predict`` of a uint8 ``(3, H, W)`` image at its size (scale factor 1):
    ``(bboxes (N, 4), scores (N,), labels (N,))``."""
    h, w = image.shape[1:]
    sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                         scale_factor=(1., 1.)))
    data = model.data_preprocessor(dict(inputs=[image], data_samples=[sample]), False)
    with torch.no_grad():
        pred = model.predict(data['inputs'], data['data_samples'], rescale=True)[0]
    pred = pred.pred_instances
    return pred.bboxes, pred.scores, pred.labels
