"""PyFasterRCNNBBoxCoder: the decoding of Deformable-ConvNets (``nonlinear_pred`` and
``clip_boxes``: +1-pixel widths, boxes spanning center -+ (w - 1) / 2, clipped to the last
pixel), with the image size given as a tuple or as a tensor (an exported graph's)."""
import numpy as np
import torch

from mmdet_psroi.models.task_modules import PyFasterRCNNBBoxCoder


def reference_decode(boxes, deltas, height, width):
    """``nonlinear_pred`` then ``clip_boxes``, in numpy float64."""
    widths = boxes[:, 2] - boxes[:, 0] + 1.0
    heights = boxes[:, 3] - boxes[:, 1] + 1.0
    ctr_x, ctr_y = boxes[:, 0] + 0.5 * (widths - 1), boxes[:, 1] + 0.5 * (heights - 1)
    pred_ctr_x, pred_ctr_y = deltas[:, 0] * widths + ctr_x, deltas[:, 1] * heights + ctr_y
    half_w = 0.5 * (np.exp(deltas[:, 2]) * widths - 1)
    half_h = 0.5 * (np.exp(deltas[:, 3]) * heights - 1)
    out = np.stack([pred_ctr_x - half_w, pred_ctr_y - half_h,
                    pred_ctr_x + half_w, pred_ctr_y + half_h], axis=1)
    out[:, 0::2] = out[:, 0::2].clip(0, width - 1)
    out[:, 1::2] = out[:, 1::2].clip(0, height - 1)
    return out


def test_decode_is_deformable_convnets_with_the_size_as_tuple_or_tensor():
    generator = torch.Generator().manual_seed(0)
    boxes = torch.rand(200, 4, generator=generator) * 150
    boxes[:, 2:] += boxes[:, :2]
    deltas = torch.randn(200, 4, generator=generator) * 0.5
    coder = PyFasterRCNNBBoxCoder()
    expected = reference_decode(boxes.double().numpy(), deltas.double().numpy(), 120, 160)
    by_tuple = coder.decode(boxes, deltas, max_shape=(120, 160))
    by_tensor = coder.decode(boxes, deltas, max_shape=torch.tensor([120., 160.]))
    assert torch.equal(by_tuple, by_tensor)
    np.testing.assert_allclose(by_tuple.numpy(), expected, atol=1e-3)
    # the clip bounds are reached
    assert (by_tuple[:, 2] == 159).any() and (by_tuple[:, 3] == 119).any()
    assert (by_tuple[:, :2] == 0).any()
