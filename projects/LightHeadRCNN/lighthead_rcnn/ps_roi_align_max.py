import torch
import torch.nn.functional as F
from torch import Tensor

from mmdet_psroi.models.roi_extractors import PS_ROI_LAYERS
from mmdet_psroi.ops import PSRoIAlign, ps_roi_align


@PS_ROI_LAYERS.register_module()
class PSRoIAlignMax(PSRoIAlign):
    """Position-sensitive RoI Align that takes the maximum over each bin's samples instead of
    their mean (the public Light-Head R-CNN code's choice; the paper averages). Registered in
    ``PS_ROI_LAYERS``: ``roi_layer=dict(type='PSRoIAlignMax', ...)`` in a ``PSRoIExtractor``.

    Built from the package's op without changing it: with ``s = sampling_ratio``, the
    ``(kh, kw)`` bins with ``s x s`` samples each are the ``(s*kh, s*kw)`` bins with one
    sample each (the sample sits at the bin centre in both). Each input channel is repeated
    for its ``s x s`` sub-bins, the op pools ``(s*kh, s*kw)`` bins with one sample, and a
    ``s x s`` max pooling reduces them. Costs an ``s*s``-times larger copy of the maps per
    call; gradients reach the input through the copy.

    Args:
        output_size (int | tuple[int, int]): ``k`` or ``(kh, kw)``.
        spatial_scale (float): feature-map scale of the box coordinates.
        sampling_ratio (int): samples per bin side, > 0 (no adaptive grid).

    Shapes: ``forward(input, rois)``: ``(N, C_out*kh*kw, H, W)`` and ``(K, 5)`` ->
    ``(K, C_out, kh, kw)``.
    """

    def __init__(self, output_size, spatial_scale=1.0, sampling_ratio=2):
        super().__init__(output_size, spatial_scale, sampling_ratio)
        if self.sampling_ratio <= 0:
            raise ValueError('PSRoIAlignMax: sampling_ratio must be > 0 (the max is over a '
                             f'fixed s x s grid), got {sampling_ratio!r}')

    def forward(self, input: Tensor, rois: Tensor) -> Tensor:
        kh, kw = self.output_size
        s = self.sampling_ratio
        if input.dim() != 4 or input.size(1) % (kh * kw) != 0:
            raise ValueError(f'PSRoIAlignMax: input must be (N, C_out*{kh}*{kw}, H, W), got '
                             f'shape {tuple(input.shape)}')
        channels = _sub_bin_channels(input.size(1) // (kh * kw), kh, kw, s, input.device)
        fine = ps_roi_align(input.index_select(1, channels), rois, (s * kh, s * kw),
                            self.spatial_scale, 1)
        return F.max_pool2d(fine, s)


def _sub_bin_channels(c_out: int, kh: int, kw: int, s: int, device) -> Tensor:
    """For fine bin ``(c, I, J)`` of the ``(s*kh, s*kw)`` grid, the input channel of its
    coarse bin: ``(c*kh + I//s)*kw + J//s``, flattened in the op's channel order."""
    c = torch.arange(c_out, device=device).view(-1, 1, 1)
    i = torch.arange(s * kh, device=device).view(1, -1, 1) // s
    j = torch.arange(s * kw, device=device).view(1, 1, -1) // s
    return ((c * kh + i) * kw + j).flatten()
