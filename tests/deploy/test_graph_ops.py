"""mmdet_psroi.deploy.graph_ops: each op's PyTorch forward computes what mmcv/mmengine compute,
and its exported graph computes the same in ONNX Runtime at other sizes than the traced one."""
import pytest
import torch
from mmcv.ops import nms
from mmcv.ops import roi_align as mmcv_roi_align
from mmdet.structures.bbox import bbox_overlaps as box_iou
from mmengine.model.utils import stack_batch

from mmdet_psroi.deploy.graph_ops import nms_keep, pad_to_multiple, roi_align, top_k
from tests.deploy.onnx_runtime import Call, export_session, run


def test_top_k_orders_ties_by_index_and_caps_k_at_the_count():
    scores = torch.tensor([0.5, 0.9, 0.5, 0.1, 0.9, 0.5])
    values, inds = top_k(scores, 4)
    assert inds.tolist() == [1, 4, 0, 2]
    assert torch.equal(values, scores[inds])
    assert top_k(scores, 10)[1].tolist() == [1, 4, 0, 2, 5, 3]

    session = export_session(Call(lambda s: top_k(s, 4)), (scores, ), ['scores'],
                             dict(scores={0: 'n'}))
    for case in (scores, scores[:3], torch.rand(50).round(decimals=1)):
        expected = top_k(case, 4)
        got = run(session, case)
        assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])


def _clustered_boxes(num=60, seed=0, decimals=None):
    """Boxes in clusters of 6 (most overlap), and scores, rounded to ``decimals`` if given
    (many equal scores)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(num // 6, 2, generator=g).repeat_interleave(6, 0) * 200
    sizes = 20 + torch.rand(num, 2, generator=g) * 30
    xy = centres + torch.randn(num, 2, generator=g) * 4
    scores = torch.rand(num, generator=g)
    scores = scores if decimals is None else scores.round(decimals=decimals)
    return torch.cat([xy - sizes / 2, xy + sizes / 2], 1), scores


def _greedy_nms(boxes, scores, iou_threshold, max_num):
    """Greedy NMS written out: boxes by descending score, equal scores by index."""
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    keep = []
    for i in order:
        if all(float(box_iou(boxes[i:i + 1], boxes[k:k + 1])) <= iou_threshold for k in keep):
            keep.append(i)
    return torch.tensor(keep[:max_num] if max_num > 0 else keep, dtype=torch.long)


@pytest.mark.parametrize('max_num', [-1, 5])
def test_nms_keep_equals_mmcv_nms_and_visits_equal_scores_by_index(max_num):
    boxes, scores = _clustered_boxes()
    expected = nms(boxes, scores, 0.5)[1]
    expected = expected[:max_num] if max_num > 0 else expected
    assert torch.equal(nms_keep(boxes, scores, 0.5, max_num), expected)
    assert 10 < len(nms(boxes, scores, 0.5)[1]) < len(boxes)

    boxes, scores = _clustered_boxes(decimals=1)
    assert torch.equal(nms_keep(boxes, scores, 0.5, max_num),
                       _greedy_nms(boxes, scores, 0.5, max_num))


@pytest.mark.parametrize('max_num', [-1, 5])
def test_nms_keep_in_onnxruntime_equals_pytorch_at_any_count(max_num):
    boxes, scores = _clustered_boxes()
    session = export_session(Call(lambda b, s: nms_keep(b, s, 0.5, max_num)), (boxes, scores),
                             ['boxes', 'scores'], dict(boxes={0: 'n'}, scores={0: 'n'}))
    for b, s in (_clustered_boxes(decimals=1), _clustered_boxes(120, seed=1)):
        assert torch.equal(run(session, b, s)[0], nms_keep(b, s, 0.5, max_num))
    assert run(session, boxes[:0], scores[:0])[0].shape == (0, )


@pytest.mark.parametrize('aligned,sampling_ratio', [(True, 2), (True, 0), (False, 2)])
def test_roi_align_equals_mmcv_roi_align_in_onnxruntime(aligned, sampling_ratio):
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 4, 20, 24, generator=g)
    xy = torch.rand(12, 2, generator=g) * 80
    wh = torch.rand(12, 2, generator=g) * 60
    wh[:3] = torch.rand(3, 2, generator=g) * 3  # RoIs smaller than a feature cell
    rois = torch.cat([torch.randint(0, 2, (12, 1), generator=g).float(), xy - 10, xy + wh], 1)

    def fn(f, r):
        return roi_align(f, r, (7, 7), 0.25, sampling_ratio, aligned)

    expected = mmcv_roi_align(feats, rois, (7, 7), 0.25, sampling_ratio, 'avg', aligned)
    assert torch.equal(fn(feats, rois), expected)
    session = export_session(Call(fn), (feats, rois), ['feats', 'rois'],
                             dict(feats={2: 'h', 3: 'w'}, rois={0: 'k'}))
    torch.testing.assert_close(run(session, feats, rois)[0], expected, rtol=0, atol=1e-5)
    other = feats[..., :17, :13].contiguous()
    torch.testing.assert_close(
        run(session, other, rois[:5])[0],
        mmcv_roi_align(other, rois[:5], (7, 7), 0.25, sampling_ratio, 'avg', aligned),
        rtol=0, atol=1e-5)


def test_pad_to_multiple_equals_mmengine_stack_batch_at_any_size():
    image = torch.rand(1, 3, 40, 50)
    session = export_session(Call(lambda x: pad_to_multiple(x, 32, 0.)), (image, ), ['image'],
                             dict(image={2: 'h', 3: 'w'}))
    for h, w in ((40, 50), (64, 33), (7, 3), (96, 96)):
        x = torch.rand(1, 3, h, w)
        expected = stack_batch([x[0]], pad_size_divisor=32, pad_value=0)
        assert torch.equal(pad_to_multiple(x, 32, 0.), expected)
        assert torch.equal(run(session, x)[0], expected)
