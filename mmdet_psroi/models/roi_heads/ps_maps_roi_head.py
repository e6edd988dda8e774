from abc import abstractmethod
from typing import Optional, Sequence, Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from torch import Tensor


class PSMapsRoIHead(StandardRoIHead):
    """Base of the position-sensitive RoI heads (R-FCN, Deformable R-FCN, Light-Head R-CNN):
    per-image maps computed once, per-RoI work that only pools them.

    The public entry points (:meth:`loss`, :meth:`predict`, :meth:`forward`) turn the backbone
    features into the maps once (:meth:`compute_maps`: once per training step, once per
    inference batch) and hand them to ``StandardRoIHead``'s code in place of the features. So
    ``bbox_loss``, ``predict_bbox`` and every sampler read the maps: ``StandardRoIHead.loss``
    gives each image's slice of them (``[level[i][None] for level in maps]``) to the sampler
    as ``feats``, and mmdet's ``OHEMSampler`` passes them on to ``_bbox_forward``, so hard
    mining pools and votes and runs no convolution.

    A subclass implements :meth:`compute_maps` and ``_bbox_forward(maps, rois)``, which pools
    the maps (one tensor per level: everything pooled per RoI, concatenated along channels)
    and returns mmdet's dict (``cls_score`` ``(K, num_classes+1)``, ``bbox_pred``
    ``(K, 4[*num_classes])``, ``bbox_feats``).

    Args: those of ``StandardRoIHead``, with a ``bbox_roi_extractor`` whose
    ``roi_layer.output_size`` equals ``bbox_head.roi_feat_size``; shared heads and mask heads
    are not supported (the per-RoI work is the pooling of the maps).
    """

    def __init__(self, **kwargs) -> None:
        for name in ('shared_head', 'mask_roi_extractor', 'mask_head'):
            if kwargs.get(name) is not None:
                raise ValueError(f'{type(self).__name__}: {name} is not supported (the per-RoI '
                                 'work of a position-sensitive head is pooling its maps); '
                                 'remove roi_head.' + name)
        super().__init__(**kwargs)
        extractor_size = tuple(self.bbox_roi_extractor.output_size)
        if extractor_size != tuple(self.bbox_head.roi_feat_size):
            raise ValueError(
                f'{type(self).__name__}: bbox_head.roi_feat_size={self.bbox_head.roi_feat_size} '
                'does not match bbox_roi_extractor.roi_layer.output_size='
                f'{extractor_size}; set both to the same k')

    @abstractmethod
    def compute_maps(self, x: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """The backbone/neck levels ``(N, C, H_l, W_l)`` -> the maps ``_bbox_forward`` pools,
        one ``(N, C_maps, H_l, W_l)`` tensor per level the extractor reads."""

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
