"""PyFasterRCNNAnchorGenerator gives py-faster-rcnn's anchors (those of MXNet's Proposal and of
the models trained with them), which mmdet's LegacyAnchorGenerator rounds differently."""
import pytest
import torch

# py-faster-rcnn's lib/rpn/generate_anchors.py: its documented output for base 16, ratios 0.5,
# 1, 2 and scales 8, 16, 32.
PY_FASTER_RCNN_ANCHORS = [[-84, -40, 99, 55], [-176, -88, 191, 103], [-360, -184, 375, 199],
                          [-56, -56, 71, 71], [-120, -120, 135, 135], [-248, -248, 263, 263],
                          [-36, -80, 51, 95], [-80, -168, 95, 183], [-168, -344, 183, 359]]


def build(**kwargs):
    from mmdet.registry import TASK_UTILS

    import mmdet_psroi.plugin  # noqa: F401  (registers the generator)

    return TASK_UTILS.build(dict(type='PyFasterRCNNAnchorGenerator', strides=[16],
                                 ratios=[0.5, 1.0, 2.0], **kwargs))


def test_base_anchors_are_py_faster_rcnns():
    anchors = build(scales=[8, 16, 32]).base_anchors[0]
    assert anchors.tolist() == PY_FASTER_RCNN_ANCHORS


def test_anchors_are_shifted_by_the_stride_location_major():
    generator = build(scales=[8, 16, 32])
    priors = generator.grid_priors([(2, 3)], device='cpu')[0]
    assert priors.shape == (2 * 3 * 9, 4)
    base = torch.tensor(PY_FASTER_RCNN_ANCHORS, dtype=torch.float32)
    assert torch.equal(priors[9 * 4:9 * 5], base + torch.tensor([16., 16., 16., 16.]))


def test_other_centers_are_refused():
    with pytest.raises(ValueError, match='center_offset=0.5'):
        build(scales=[8], center_offset=0.)
