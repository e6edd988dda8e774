from typing import Tuple

import torch
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
        cls_channels = self.cls_reg_channels[0]
        self.conv_cls_offset = nn.Conv2d(maps_in, 2 * kh * kw * cls_channels, 1)
        self.conv_reg_offset = nn.Conv2d(maps_in, 2 * kh * kw, 1)
        if init_cfg is None:
            self.init_cfg = list(self.init_cfg) + [dict(
                type='Constant', val=0., bias=0.,
                override=[dict(name='conv_cls_offset'), dict(name='conv_reg_offset')])]

    def forward_maps(self, x: Tensor) -> Tensor:
        """``(N, in_channels, H, W)`` -> one ``(N, C_maps, H, W)`` tensor: the score maps
        (``PSBBoxHead.forward_maps``'s class then box maps, ``k*k*(C_cls + C_reg)`` channels),
        then the class offset maps ``2*k*k*(num_classes+1)`` and the box offset maps
        ``2*k*k`` (:meth:`split_maps` separates them)."""
        x = self.hidden_features(x)
        return torch.cat([self.conv_cls(x), self.conv_reg(x), self.conv_cls_offset(x),
                          self.conv_reg_offset(x)], dim=1)

    def split_maps(self, maps: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """:meth:`forward_maps`'s ``(N, C_maps, H, W)`` -> the class maps, the box maps and
        the offset maps (class, then box), views. The split sizes are the convs' (static, so
        that an exported graph knows every channel count)."""
        return tuple(maps.split([self.conv_cls.out_channels, self.conv_reg.out_channels,
                                 self.conv_cls_offset.out_channels
                                 + self.conv_reg_offset.out_channels], dim=1))

    def split_offsets(self, offsets: Tensor) -> Tuple[Tensor, Tensor]:
        """The pooled offset maps ``(K, 2*C_cls + 2, ph, pw)`` -> the class offsets
        ``(K, 2*C_cls, ph, pw)`` (one group per class) and the box offsets
        ``(K, 2, ph, pw)`` (one group for the box channels), views."""
        return tuple(offsets.split([2 * self.cls_reg_channels[0], 2], dim=1))
