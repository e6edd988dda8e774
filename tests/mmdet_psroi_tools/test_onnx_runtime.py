"""mmdet_psroi_tools.onnx_runtime.nms_ties_by_index: mmcv's NMS, as mmdet's post-processing
calls it, visiting boxes of equal score by index for the length of the block."""
import importlib

import pytest
import torch

pytest.importorskip('mmcv.ops')
from mmcv.ops import batched_nms  # noqa: E402

from mmdet_psroi_tools.onnx_runtime import nms_ties_by_index  # noqa: E402

mmcv_nms = importlib.import_module('mmcv.ops.nms')


def tied_boxes(n=64):
    """``n`` boxes of one score, each overlapping the first with IoU > 0.9, and a lone box of
    a lower score."""
    shifts = torch.linspace(0, 0.5, n)[:, None]
    boxes = torch.cat([torch.tensor([[0., 0, 10, 10]]) + shifts * torch.tensor([1., 0, 1, 0]),
                       torch.tensor([[50., 50, 60, 60]])])
    scores = torch.cat([torch.full((n,), 0.5), torch.tensor([0.2])])
    return boxes, scores


@pytest.mark.parametrize('offset', [0, 1])
def test_batched_nms_keeps_the_first_of_equal_scores_inside_the_block_only(offset):
    boxes, scores = tied_boxes()
    idxs = torch.zeros(len(scores), dtype=torch.long)
    cfg = dict(type='nms', iou_threshold=0.5, offset=offset)
    with nms_ties_by_index():
        dets, keep = batched_nms(boxes, scores, idxs, cfg)
    assert keep.tolist() == [0, len(scores) - 1]
    assert torch.equal(dets, torch.cat([boxes[keep], scores[keep, None]], dim=1))
    _, keep_after = batched_nms(boxes, scores, idxs, cfg)
    assert mmcv_nms.nms.__module__ == 'mmcv.ops.nms'
    assert len(keep_after) == 2 and keep_after[1] == len(scores) - 1


@pytest.mark.parametrize('offset', [0, 1])
def test_unequal_scores_keep_what_mmcv_keeps(offset):
    torch.manual_seed(0)
    xy = torch.rand(200, 2) * 50
    # small boxes, where the +1 pixel of offset=1 changes which are kept
    boxes = torch.cat([xy, xy + 1 + torch.rand(200, 2) * 4], dim=1)
    scores = torch.rand(200)
    expected = mmcv_nms.nms(boxes, scores, 0.3, offset)
    assert not torch.equal(expected[1], mmcv_nms.nms(boxes, scores, 0.3, 1 - offset)[1])
    with nms_ties_by_index():
        dets, keep = mmcv_nms.nms(boxes, scores, 0.3, offset)
    assert torch.equal(keep, expected[1]) and torch.equal(dets, expected[0])
