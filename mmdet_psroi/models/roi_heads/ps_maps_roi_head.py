from typing import Optional, Sequence, Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from torch import Tensor, nn
from torch.nn.modules.utils import _pair


def build_with_output_size(owner: str, extractor_cfg: dict, field: str, size: Sequence[int],
                           source: str) -> nn.Module:
    """Builds ``extractor_cfg`` (the head's ``field``) with ``roi_layer.output_size = size``,
    which the head's ``source`` states. An explicit ``roi_layer.output_size`` is accepted only
    when it equals ``size``; otherwise a ValueError starting with ``owner`` names both."""
    layer = dict(extractor_cfg['roi_layer'])
    size = tuple(size)
    explicit = layer.get('output_size')
    if explicit is not None and tuple(_pair(explicit)) != size:
        raise ValueError(f'{owner}: {source}={size} does not match {field}.roi_layer.output_size='
                         f'{tuple(_pair(explicit))}: the head sets the output size from {source}; '
                         f'remove {field}.roi_layer.output_size')
    return MODELS.build(dict(extractor_cfg, roi_layer=dict(layer, output_size=size)))


class PSMapsRoIHead(StandardRoIHead):
    """Base of the position-sensitive RoI heads (R-FCN, Deformable R-FCN, Light-Head R-CNN):
    per-image maps computed once, per-RoI work that only pools them.

    The public entry points (:meth:`loss`, :meth:`predict`, :meth:`forward`) turn the backbone
    features into the maps once (:meth:`compute_maps`: once per training step, once per
    inference batch) and hand them to ``StandardRoIHead``'s code in place of the features. So
    ``bbox_loss``, ``predict_bbox`` and every sampler read the maps: ``StandardRoIHead.loss``
    gives each image's slice of them (``[level[i][None] for level in maps]``) to the sampler
    as ``feats``, and mmdet's ``OHEMSampler`` passes them on to :meth:`_bbox_forward`, so hard
    mining pools and votes and runs no convolution.

    The contract, each part with a default a subclass overrides only where it differs:

    - :meth:`forward_maps` ``(N, C, H, W) -> (N, C_maps, H, W)``: one level's maps; by default
      ``bbox_head.forward_maps`` (``PSBBoxHead``'s score maps). :meth:`compute_maps` applies it
      to each level the extractor reads.
    - :meth:`_bbox_forward` ``(maps, rois)``: pools the maps with ``bbox_roi_extractor`` and
      lets ``bbox_head`` vote; returns mmdet's dict (``cls_score`` ``(K, num_classes+1)``,
      ``bbox_pred`` ``(K, 4[*num_classes])``, ``bbox_feats``: the pooled maps).

    k has one source, ``bbox_head.roi_feat_size``: the head sets the extractor's
    ``roi_layer.output_size`` from it (an explicit one that differs is refused).

    Args: those of ``StandardRoIHead``; shared heads and mask heads are not supported (the
    per-RoI work is the pooling of the maps).
    """

    def __init__(self, **kwargs) -> None:
        for name in ('shared_head', 'mask_roi_extractor', 'mask_head'):
            if kwargs.get(name) is not None:
                raise ValueError(f'{type(self).__name__}: {name} is not supported (the per-RoI '
                                 'work of a position-sensitive head is pooling its maps); '
                                 'remove roi_head.' + name)
        super().__init__(**kwargs)
        if (type(self).forward_maps is PSMapsRoIHead.forward_maps
                and not callable(getattr(self.bbox_head, 'forward_maps', None))):
            raise ValueError(f'{type(self).__name__}: bbox_head type '
                             f'{type(self.bbox_head).__name__!r} has no forward_maps(x), which '
                             'makes the maps: use a box head that has one (e.g. PSBBoxHead), or '
                             'a RoI head that makes its own maps (e.g. LightHeadRoIHead)')

    def init_bbox_head(self, bbox_roi_extractor: dict, bbox_head: dict) -> None:
        self.bbox_head = MODELS.build(bbox_head)
        self.bbox_roi_extractor = build_with_output_size(
            type(self).__name__, bbox_roi_extractor, 'bbox_roi_extractor',
            self.bbox_head.roi_feat_size, 'bbox_head.roi_feat_size')

    def forward_maps(self, x: Tensor) -> Tensor:
        """One level the extractor reads, ``(N, C, H, W)`` -> its maps ``(N, C_maps, H, W)``:
        ``bbox_head.forward_maps(x)``."""
        return self.bbox_head.forward_maps(x)

    def compute_maps(self, x: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """The backbone/neck levels ``(N, C, H_l, W_l)`` -> the maps :meth:`_bbox_forward`
        pools: :meth:`forward_maps` of each level the extractor reads."""
        return tuple(self.forward_maps(level) for level in x[:self.bbox_roi_extractor.num_inputs])

    def _bbox_forward(self, maps: Sequence[Tensor], rois: Tensor) -> dict:
        """``maps``: :meth:`compute_maps`'s (or a per-image slice of them); ``rois`` ``(K, 5)``.
        Returns ``cls_score`` ``(K, num_classes+1)``, ``bbox_pred`` ``(K, 4[*num_classes])`` and
        ``bbox_feats``, the pooled maps ``(K, C_maps // (kh*kw), kh, kw)``."""
        pooled = self.bbox_roi_extractor(maps, rois)
        cls_score, bbox_pred = self.bbox_head(pooled)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=pooled)

    def forward(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
                batch_data_samples: Optional[SampleList] = None) -> tuple:
        return super().forward(self.compute_maps(x), rpn_results_list, batch_data_samples)

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: SampleList) -> dict:
        return super().loss(self.compute_maps(x), rpn_results_list, batch_data_samples)

    def predict(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
                batch_data_samples: SampleList, rescale: bool = False) -> InstanceList:
        return super().predict(self.compute_maps(x), rpn_results_list, batch_data_samples,
                               rescale=rescale)
