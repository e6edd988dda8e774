from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmdet.models.task_modules.coders import LegacyDeltaXYWHBBoxCoder
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import BaseBoxes, HorizontalBoxes, get_box_tensor
from torch import Tensor


@TASK_UTILS.register_module()
class PyFasterRCNNBBoxCoder(LegacyDeltaXYWHBBoxCoder):
    """The box deltas of py-faster-rcnn (``bbox_transform_inv``), which MXNet's ``Proposal`` and
    Deformable-ConvNets' tester share: boxes ``[x1, x2]`` are ``x2 - x1 + 1`` pixels wide, and a
    decoded box of width ``w`` spans ``center -+ (w - 1) / 2``.

    Encoding is ``LegacyDeltaXYWHBBoxCoder``'s (the same +1 widths and centers). Its decoding
    spans ``center -+ w / 2`` instead (one pixel wider than py-faster-rcnn's box, a choice of
    mmdet for its 1.x models). As mmdet's coders, ``dw`` and ``dh`` are clamped to
    ``|log(wh_ratio_clip)|`` (py-faster-rcnn does not clamp), and boxes are clipped to
    ``[0, W - 1] x [0, H - 1]`` where ``max_shape`` is given.

    ``decode`` traces into an exported graph with ``max_shape`` a ``(2,)`` tensor of the
    image's (dynamic) height and width (``traceable_decode``).

    Args: those of ``LegacyDeltaXYWHBBoxCoder`` (``target_means``, ``target_stds``).
    """

    traceable_decode = True

    def decode(self, bboxes: Union[Tensor, BaseBoxes], pred_bboxes: Tensor,
               max_shape: Optional[Sequence[int]] = None,
               wh_ratio_clip: Optional[float] = 16 / 1000) -> Union[Tensor, BaseBoxes]:
        rois = get_box_tensor(bboxes)
        if pred_bboxes.size(0) != rois.size(0):
            raise ValueError(f'PyFasterRCNNBBoxCoder: {rois.size(0)} boxes but '
                             f'{pred_bboxes.size(0)} rows of deltas')
        deltas = pred_bboxes * pred_bboxes.new_tensor(self.stds).repeat(
            pred_bboxes.size(1) // 4) + pred_bboxes.new_tensor(self.means).repeat(
                pred_bboxes.size(1) // 4)
        max_ratio = float(np.abs(np.log(wh_ratio_clip)))
        dx, dy = deltas[:, 0::4], deltas[:, 1::4]
        dw = deltas[:, 2::4].clamp(min=-max_ratio, max=max_ratio)
        dh = deltas[:, 3::4].clamp(min=-max_ratio, max=max_ratio)
        widths = (rois[:, 2] - rois[:, 0] + 1.0)[:, None]
        heights = (rois[:, 3] - rois[:, 1] + 1.0)[:, None]
        ctr_x = rois[:, 0, None] + 0.5 * (widths - 1.0)
        ctr_y = rois[:, 1, None] + 0.5 * (heights - 1.0)
        pred_ctr_x, pred_ctr_y = dx * widths + ctr_x, dy * heights + ctr_y
        half_w = 0.5 * (dw.exp() * widths - 1.0)
        half_h = 0.5 * (dh.exp() * heights - 1.0)
        x1, x2 = pred_ctr_x - half_w, pred_ctr_x + half_w
        y1, y2 = pred_ctr_y - half_h, pred_ctr_y + half_h
        if max_shape is not None:
            # the last pixel's (y, x); max_shape may be a (2,) tensor (an exported graph's
            # dynamic image size)
            size = (max_shape.to(deltas) if torch.is_tensor(max_shape) else
                    deltas.new_tensor(max_shape[:2]))
            last = size[:2] - 1
            x1, x2 = (torch.min(x.clamp(min=0), last[1]) for x in (x1, x2))
            y1, y2 = (torch.min(y.clamp(min=0), last[0]) for y in (y1, y2))
        decoded = torch.stack([x1, y1, x2, y2], dim=-1).view_as(deltas)
        if self.use_box_type:
            decoded = HorizontalBoxes(decoded)
        return decoded
