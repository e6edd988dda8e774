from typing import Tuple

from mmdet.registry import MODELS
from torch import Tensor, nn

from mmdet_psroi.models.roi_heads.bbox_heads.ps_bbox_head import PSBBoxHead


@MODELS.register_module()
class DeformablePSBBoxHead(PSBBoxHead):
    """Deformable R-FCN's box head: ``PSBBoxHead`` plus the offset maps.

    Two more 1x1 convs on the hidden features (``relu_new_1`` of the public code): one to
    ``2*k*k*(num_classes+1)`` class offset maps (class-specific offsets), one to ``2*k*k`` box
    offset maps. Both start at zero (the pooling starts as plain PS RoI pooling), as in the
    public code. ``forward`` (the vote) is ``PSBBoxHead``'s.

    Args: those of ``PSBBoxHead``.
    """

    def __init__(self, *args, init_cfg=None, **kwargs) -> None:
        super().__init__(*args, init_cfg=init_cfg, **kwargs)
        kh, kw = self.roi_feat_size
        maps_in = self.hidden_channels or self.in_channels
        cls_channels = self.conv_cls.out_channels // (kh * kw)
        self.conv_cls_offset = nn.Conv2d(maps_in, 2 * kh * kw * cls_channels, 1)
        self.conv_reg_offset = nn.Conv2d(maps_in, 2 * kh * kw, 1)
        if init_cfg is None:
            self.init_cfg = list(self.init_cfg) + [dict(
                type='Constant', val=0., bias=0.,
                override=[dict(name='conv_cls_offset'), dict(name='conv_reg_offset')])]

    def forward_maps(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(N, in_channels, H, W)`` -> class maps ``(N, k*k*(C+1), H, W)``, box maps
        ``(N, k*k*4[*C], H, W)``, class offset maps ``(N, 2*k*k*(C+1), H, W)`` and box offset
        maps ``(N, 2*k*k, H, W)``."""
        if x.size(1) != self.in_channels:
            raise ValueError(f'DeformablePSBBoxHead: the feature map has {x.size(1)} channels '
                             f'but in_channels={self.in_channels}: set bbox_head.in_channels '
                             'to the channels of the level the RoI head reads')
        if self.hidden_channels:
            x = self.conv_hidden(x).relu_()
        return self.conv_cls(x), self.conv_reg(x), self.conv_cls_offset(x), self.conv_reg_offset(x)
