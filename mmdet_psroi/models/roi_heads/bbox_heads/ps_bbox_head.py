from typing import Optional, Tuple

import torch
from mmdet.models.roi_heads.bbox_heads import BBoxHead
from mmdet.registry import MODELS
from torch import Tensor, nn
from torch.nn.modules.utils import _pair


@MODELS.register_module()
class PSBBoxHead(BBoxHead):
    """R-FCN's position-sensitive box head.

    On the whole feature map, once per image: a conv (1x1 by default, ``hidden_kernel_size``)
    to ``hidden_channels`` + ReLU, then a 1x1 conv to ``k*k*(num_classes+1)`` classification
    score maps and a 1x1 conv to ``k*k*4`` box maps (``k*k*4*num_classes`` when
    ``reg_class_agnostic=False``), returned as one tensor (:meth:`forward_maps`). Per RoI, the
    maps are PS-pooled together (by the RoI head's extractor) to ``(K, C_cls + C_reg, k, k)``
    and each RoI votes by averaging its ``k*k`` bins (:meth:`forward`).
    Losses, targets and ``predict_by_feat`` are mmdet's ``BBoxHead``'s.

    Args:
        in_channels (int): channels of the input feature map (2048 for ResNet conv5).
        hidden_channels (int): width of the conv before the score maps (paper: 1024);
            0 feeds the input straight to the score-map convs.
        hidden_kernel_size (int): odd kernel size of that conv (paper: 1). 3 gives the score
            maps some spatial context on a light feature map (e.g. a 64-channel FPN level).
        roi_feat_size (int | tuple[int, int]): ``k``, the PS grid (the RoI head sets its
            extractor's ``roi_layer.output_size`` from it).
        num_classes (int): object classes (without background).
        reg_class_agnostic (bool): one box per RoI (R-FCN's choice, default) or one per class.
        **kwargs: the rest of mmdet's ``BBoxHead`` (bbox_coder, loss_cls, loss_bbox, ...).
    """

    def __init__(self,
                 in_channels: int = 2048,
                 hidden_channels: int = 1024,
                 hidden_kernel_size: int = 1,
                 roi_feat_size: int = 7,
                 num_classes: int = 80,
                 reg_class_agnostic: bool = True,
                 init_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        for name, value in (('in_channels', in_channels), ('num_classes', num_classes)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f'PSBBoxHead: {name} must be a positive int, got {value!r}')
        if not all(isinstance(k, int) and k > 0 for k in _pair(roi_feat_size)):
            raise ValueError('PSBBoxHead: roi_feat_size must be positive: k or (kh, kw), got '
                             f'{roi_feat_size!r}')
        if not isinstance(hidden_channels, int) or hidden_channels < 0:
            raise ValueError('PSBBoxHead: hidden_channels must be an int >= 0, '
                             f'got {hidden_channels!r}')
        if (not isinstance(hidden_kernel_size, int) or hidden_kernel_size <= 0
                or hidden_kernel_size % 2 == 0):
            raise ValueError('PSBBoxHead: hidden_kernel_size must be a positive odd int, '
                             f'got {hidden_kernel_size!r}')
        for name in ('with_avg_pool', 'with_cls', 'with_reg'):
            if name in kwargs:
                raise ValueError(f'PSBBoxHead: {name} is not configurable (always voting, '
                                 'with classification and regression)')
        if init_cfg is None:
            stds = dict(conv_hidden=0.01, conv_cls=0.01, conv_reg=0.001)
            if not hidden_channels:  # no hidden conv to initialise
                del stds['conv_hidden']
            init_cfg = [dict(type='Normal', std=std, override=dict(name=name))
                        for name, std in stds.items()]
        # in_channels=1 keeps BBoxHead from allocating its (unused) linear predictors.
        super().__init__(in_channels=1, roi_feat_size=roi_feat_size, num_classes=num_classes,
                         reg_class_agnostic=reg_class_agnostic, init_cfg=init_cfg, **kwargs)
        del self.fc_cls, self.fc_reg
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        kh, kw = self.roi_feat_size
        cls_channels = (self.loss_cls.get_cls_channels(num_classes)
                        if self.custom_cls_channels else num_classes + 1)
        reg_channels = self.bbox_coder.encode_size * (1 if reg_class_agnostic else num_classes)
        self.cls_reg_channels = (cls_channels, reg_channels)
        if hidden_channels:
            self.conv_hidden = nn.Conv2d(in_channels, hidden_channels, hidden_kernel_size,
                                         padding=hidden_kernel_size // 2)
        maps_in = hidden_channels or in_channels
        self.conv_cls = nn.Conv2d(maps_in, kh * kw * cls_channels, 1)
        self.conv_reg = nn.Conv2d(maps_in, kh * kw * reg_channels, 1)

    def hidden_features(self, x: Tensor) -> Tensor:
        """``(N, in_channels, H, W)`` -> what the map convs read: the hidden conv's ReLU
        output, or ``x`` itself when ``hidden_channels=0``."""
        if x.size(1) != self.in_channels:
            raise ValueError(f'{type(self).__name__}: the feature map has {x.size(1)} channels '
                             f'but in_channels={self.in_channels}: set bbox_head.in_channels '
                             'to the channels of the level the RoI head reads')
        return self.conv_hidden(x).relu_() if self.hidden_channels else x

    def forward_maps(self, x: Tensor) -> Tensor:
        """``(N, in_channels, H, W)`` -> the maps ``(N, k*k*(C_cls + C_reg), H, W)``: the
        ``k*k*(num_classes+1)`` class score maps, then the ``k*k*4[*num_classes]`` box maps.
        Both have the same ``k*k`` channels per output channel, so one PS pooling of the
        concatenation pools both (:meth:`split_pooled` separates them)."""
        x = self.hidden_features(x)
        return torch.cat([self.conv_cls(x), self.conv_reg(x)], dim=1)

    def split_pooled(self, pooled: Tensor) -> Tuple[Tensor, Tensor]:
        """``(K, C_cls + C_reg, ...)`` (pooled maps, or votes) -> the class part
        ``(K, C_cls, ...)`` and the box part ``(K, C_reg, ...)``, views."""
        return tuple(pooled.split(self.cls_reg_channels, dim=1))

    def forward(self, pooled: Tensor) -> Tuple[Tensor, Tensor]:
        """Vote: the PS-pooled maps ``(K, C_cls + C_reg, k, k)`` -> ``cls_score``
        ``(K, C_cls)`` and ``bbox_pred`` ``(K, C_reg)``, the means over the k*k bins."""
        return self.split_pooled(pooled.mean(dim=(2, 3)))
