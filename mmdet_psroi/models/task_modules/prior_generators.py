import numpy as np
import torch
from mmdet.models.task_modules.prior_generators import LegacyAnchorGenerator
from mmdet.registry import TASK_UTILS


@TASK_UTILS.register_module()
class PyFasterRCNNAnchorGenerator(LegacyAnchorGenerator):
    """The anchors of py-faster-rcnn's ``generate_anchors`` (and of the models trained with it
    or with MXNet's ``Proposal``, e.g. Deformable-ConvNets' R-FCN): per ratio, the base box's
    area divided by the ratio gives a width rounded to whole pixels and a height rounded from
    width times ratio; both are then multiplied by each scale, around the base box's center
    ``(base_size - 1) / 2``. Ratio-major order (all scales of the first ratio first).

    mmdet's ``LegacyAnchorGenerator`` keeps the +1 corners but rounds the corners of unrounded
    sizes instead (e.g. ratio 0.5, scale 8, base 16: 182x91 there, 184x96 here).

    Args: those of ``LegacyAnchorGenerator``, with ``scales`` (not ``octave_base_scale``),
        ``scale_major=True`` and ``center_offset=0.5`` (its defaults but the last, which this
        class sets).
    """

    def __init__(self, *args, center_offset: float = 0.5, scale_major: bool = True,
                 **kwargs) -> None:
        if center_offset != 0.5 or not scale_major:
            raise ValueError('PyFasterRCNNAnchorGenerator: py-faster-rcnn anchors are centered '
                             'at (base_size - 1) / 2 in ratio-major order: keep '
                             'center_offset=0.5 and scale_major=True')
        super().__init__(*args, center_offset=center_offset, scale_major=scale_major, **kwargs)

    def gen_single_level_base_anchors(self, base_size, scales, ratios, center=None):
        if center is not None:
            raise ValueError('PyFasterRCNNAnchorGenerator: centers are (base_size - 1) / 2; '
                             'leave centers unset')
        ctr = 0.5 * (base_size - 1)
        anchors = []
        for ratio in ratios.tolist():
            width = np.round(np.sqrt(base_size * base_size / ratio))
            height = np.round(width * ratio)
            for scale in scales.tolist():
                w, h = width * scale, height * scale
                anchors.append([ctr - 0.5 * (w - 1), ctr - 0.5 * (h - 1),
                                ctr + 0.5 * (w - 1), ctr + 0.5 * (h - 1)])
        return torch.tensor(anchors, dtype=torch.float32)
