"""mmdet_psroi.deploy.ExportableDetector: the same detections as mmdet's ``predict``, in PyTorch
and, exported, in ONNX Runtime at image sizes other than the traced one; configs the graph
cannot reproduce are refused with the setting named."""
import copy

import pytest
import torch
from mmengine.config import ConfigDict

from mmdet_psroi.deploy import ExportableDetector, UnsupportedExport, check_detector
from tests.deploy.onnx_runtime import exporters
from tests.deploy.tiny_detectors import CASES, build_tiny, mmdet_predict, sample_image


def assert_same_detections(dets, labels, expected, box_atol=1e-4, score_atol=1e-6,
                           near_ties=0):
    """``dets`` ``(N, 5)`` by descending score and ``labels`` match mmdet's ``expected``
    ``(bboxes, scores, labels)`` one to one: same label, box and score within the
    tolerances. Matched, not compared row by row: mmdet orders equal scores by an unstable
    sort, the graph by index.

    ``near_ties``: how many detections may instead pair with one of the same label and a score
    within ``score_atol`` but another box. Two overlapping RoIs whose scores differ by a few
    float32 ulps keep one or the other through NMS, depending on which way a runtime's rounding
    tips them (a graph that computes the pooling in another order does)."""
    bboxes, scores, expected_labels = expected
    assert dets.shape == (len(bboxes), 5) and labels.shape == (len(bboxes), )
    assert (dets[1:, 4] <= dets[:-1, 4]).all()
    unmatched = list(range(len(dets)))
    missed = []
    for box, score, label in zip(bboxes, scores, expected_labels):
        match = next((j for j in unmatched if labels[j] == label
                      and abs(float(dets[j, 4] - score)) <= score_atol
                      and float((dets[j, :4] - box).abs().max()) <= box_atol), None)
        if match is None:
            missed.append((box, score, label))
        else:
            unmatched.remove(match)
    assert len(missed) <= near_ties, \
        f'no detection matches {[(box.tolist(), float(score)) for box, score, _ in missed]}'
    for box, score, label in missed:
        tie = next((j for j in unmatched if labels[j] == label
                    and abs(float(dets[j, 4] - score)) <= score_atol), None)
        assert tie is not None, f'no detection matches {box.tolist()}, {float(score)}'
        unmatched.remove(tie)


@pytest.mark.parametrize('name', sorted(CASES))
def test_graph_module_equals_mmdet_predict(name):
    model = build_tiny(name)
    graph = ExportableDetector(model)
    for height, width in ((100, 140), (96, 64)):  # padded to 112 x 144, not padded
        image = sample_image(height, width)
        expected = mmdet_predict(model, image)
        assert len(expected[0]) > 5
        with torch.no_grad():
            dets, labels = graph(image[None].float())
        assert_same_detections(dets, labels, expected)


def test_no_detection_above_score_thr_gives_empty_outputs():
    model = build_tiny('rfcn_c4_psroialign', rcnn=dict(score_thr=1.0))
    with torch.no_grad():
        dets, labels = ExportableDetector(model)(sample_image()[None].float())
    assert dets.shape == (0, 5) and labels.shape == (0, )


def test_class_specific_boxes_and_unaligned_roi_align_equal_mmdet_predict():
    from mmdet.registry import MODELS

    from tests.deploy.tiny_detectors import tiny_faster_rcnn_fpn_cfg

    torch.manual_seed(0)
    model = MODELS.build(tiny_faster_rcnn_fpn_cfg(reg_class_agnostic=False,
                                                  sampling_ratio=0, aligned=False)).eval()
    image = sample_image()
    with torch.no_grad():
        dets, labels = ExportableDetector(model)(image[None].float())
    assert_same_detections(dets, labels, mmdet_predict(model, image))


def _with(model, path, value):
    """A copy of ``model`` whose attribute/config at dotted ``path`` is ``value``."""
    model = copy.deepcopy(model)
    *parents, last = path.split('.')
    obj = model
    for part in parents:
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    if isinstance(obj, dict):
        obj[last] = value
    else:
        setattr(obj, last, value)
    return model


@pytest.mark.parametrize('path,value,where,why', [
    ('roi_head.test_cfg.nms', ConfigDict(type='soft_nms', iou_threshold=0.5),
     'model.test_cfg.rcnn.nms.type', "'soft_nms'"),
    ('rpn_head.test_cfg.nms', ConfigDict(type='nms', iou_threshold=0.7, max_num=10),
     'model.test_cfg.rpn.nms', "['max_num']"),
    ('rpn_head.test_cfg.nms', ConfigDict(type='nms', iou_threshold=0.7, offset=2),
     'model.test_cfg.rpn.nms.offset', '0 or 1'),
    ('rpn_head.test_cfg.max_per_img', -1, 'model.test_cfg.rpn.max_per_img', 'positive'),
    ('roi_head.bbox_roi_extractor.roi_layers.0.pool_mode', 'max',
     'model.roi_head.bbox_roi_extractor.roi_layer', "pool_mode='max'"),
    ('roi_head.bbox_head.loss_cls.custom_cls_channels', True, 'model.roi_head.bbox_head.loss_cls',
     'softmax'),
])
def test_unsupported_settings_are_named(path, value, where, why):
    model = _with(build_tiny('faster_rcnn_fpn_roialign'), path, value)
    with pytest.raises(UnsupportedExport, match='cannot export') as error:
        check_detector(model)
    assert error.value.where == where and why in error.value.why


def test_unsupported_parts_are_named():
    from mmcv.ops import ModulatedDeformConv2dPack, RoIPool
    from mmdet.models.task_modules.coders import TBLRBBoxCoder

    model = build_tiny('faster_rcnn_fpn_roialign')
    with pytest.raises(UnsupportedExport, match="type 'RoIPool'"):
        check_detector(_with(model, 'roi_head.bbox_roi_extractor.roi_layers',
                             torch.nn.ModuleList([RoIPool(7, 0.25)])))
    with pytest.raises(UnsupportedExport, match=r"model\.rpn_head\.bbox_coder: .*"
                                                "'TBLRBBoxCoder'"):
        check_detector(_with(model, 'rpn_head.bbox_coder', TBLRBBoxCoder()))
    with pytest.raises(UnsupportedExport, match="model: type 'Sequential'"):
        check_detector(torch.nn.Sequential())
    with pytest.raises(UnsupportedExport, match='model.roi_head.mask_head'):
        check_detector(_with(model, 'roi_head.mask_head', torch.nn.Identity()))
    with pytest.raises(UnsupportedExport, match=r'model\.backbone: layer4\.0\.conv2 is an mmcv '
                                                'ModulatedDeformConv2dPack'):
        check_detector(_with(model, 'backbone.layer4.0.conv2',
                             ModulatedDeformConv2dPack(4, 4, 3, padding=1)))


@pytest.mark.slow
@pytest.mark.parametrize('exporter', exporters())
@pytest.mark.parametrize('name', sorted(CASES))
def test_exported_graph_equals_the_module_in_onnxruntime(name, exporter):
    """At the traced size and others. Compared with the module (whose detections equal
    mmdet's, test_graph_module_equals_mmdet_predict) rather than with mmdet: random weights
    give PSRoIPool's quantised bins bitwise-equal scores, which mmdet's unstable sort and the
    graph's index order may break differently."""
    from tests.deploy.onnx_runtime import export_session, run

    graph = ExportableDetector(build_tiny(name))
    session = export_session(graph, (sample_image()[None].float(), ), ['image'],
                             dict(image={2: 'height', 3: 'width'}), exporter)
    for height, width, seed in ((100, 140, 0), (96, 64, 1), (130, 97, 2)):
        image = sample_image(height, width, seed)[None].float()
        with torch.no_grad():
            dets, labels = graph(image)
        assert len(dets) > 5
        ort_dets, ort_labels = run(session, image)
        assert_same_detections(ort_dets, ort_labels, (dets[:, :4], dets[:, 4], labels),
                               box_atol=1e-2, score_atol=1e-4, near_ties=1)
