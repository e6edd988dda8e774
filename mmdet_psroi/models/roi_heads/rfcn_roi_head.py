from typing import Sequence, Tuple, Union

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from torch import Tensor


class ScoreMaps:
    """R-FCN's position-sensitive maps of a batch, one tensor per level the extractor reads:
    ``cls`` ``(N, k*k*(num_classes+1), H_l, W_l)`` and ``reg`` ``(N, k*k*4[*num_classes], H_l,
    W_l)``. ``RFCNRoIHead._bbox_forward`` pools them instead of recomputing them from the
    features."""

    def __init__(self, cls: Sequence[Tensor], reg: Sequence[Tensor]) -> None:
        self.cls, self.reg = tuple(cls), tuple(reg)

    def image(self, index: int) -> 'ScoreMaps':
        """The maps of image ``index`` alone (batch size 1), without copying."""
        return ScoreMaps([m[index:index + 1] for m in self.cls],
                         [m[index:index + 1] for m in self.reg])


@MODELS.register_module()
class RFCNRoIHead(StandardRoIHead):
    """R-FCN's RoI head: ``PSBBoxHead`` score maps, pooled by a ``PSRoIExtractor``.

    Keeps mmdet's ``_bbox_forward(x, rois) -> dict(cls_score, bbox_pred, bbox_feats)``
    contract, so ``StandardRoIHead``'s predict path and mmdet's ``OHEMSampler``
    (``train_cfg.rcnn.sampler=dict(type='OHEMSampler', ...)``) work unchanged. The maps are
    computed once per image; per RoI there is only pooling and a mean. In training they are
    computed once per step and shared by the sampler and the loss: OHEM's hard mining only
    pools and votes (paper, section 3), it runs no convolution.

    Args:
        bbox_roi_extractor (dict): a ``PSRoIExtractor`` config.
        bbox_head (dict): a ``PSBBoxHead`` config; ``roi_feat_size`` must equal the
            extractor's ``roi_layer.output_size``.
        **kwargs: the rest of ``StandardRoIHead`` (train_cfg, test_cfg, init_cfg). Shared
            heads and mask heads are not supported.
    """

    def __init__(self, bbox_roi_extractor: dict, bbox_head: dict, **kwargs) -> None:
        for name in ('shared_head', 'mask_roi_extractor', 'mask_head'):
            if kwargs.get(name) is not None:
                raise ValueError(f'RFCNRoIHead: {name} is not supported (R-FCN has no per-RoI '
                                 'subnetwork); remove roi_head.' + name)
        super().__init__(bbox_roi_extractor=bbox_roi_extractor, bbox_head=bbox_head, **kwargs)
        extractor_size = tuple(self.bbox_roi_extractor.output_size)
        if extractor_size != tuple(self.bbox_head.roi_feat_size):
            raise ValueError(
                f'RFCNRoIHead: bbox_head.roi_feat_size={self.bbox_head.roi_feat_size} (k of the '
                f'score maps) does not match bbox_roi_extractor.roi_layer.output_size='
                f'{extractor_size}; set both to the same k')

    def score_maps(self, x: Sequence[Tensor]) -> ScoreMaps:
        """The score maps of the levels of ``x`` the extractor reads."""
        maps = [self.bbox_head.forward_maps(level)
                for level in x[:self.bbox_roi_extractor.num_inputs]]
        return ScoreMaps([m[0] for m in maps], [m[1] for m in maps])

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: SampleList) -> dict:
        """``StandardRoIHead.loss`` with the score maps computed once: the sampler receives
        each image's maps as its ``feats`` (``OHEMSampler`` passes them on to
        :meth:`_bbox_forward`) and the loss pools the sampled RoIs from the same maps.
        A subclass with its own ``_bbox_forward`` (which reads features) gets mmdet's
        ``StandardRoIHead.loss``."""
        if type(self)._bbox_forward is not RFCNRoIHead._bbox_forward:
            return super().loss(x, rpn_results_list, batch_data_samples)
        assert len(rpn_results_list) == len(batch_data_samples)
        batch_gt_instances, batch_gt_instances_ignore, _ = unpack_gt_instances(
            batch_data_samples)
        maps = self.score_maps(x)
        sampling_results = []
        for i, rpn_results in enumerate(rpn_results_list):
            rpn_results.priors = rpn_results.pop('bboxes')
            assign_result = self.bbox_assigner.assign(rpn_results, batch_gt_instances[i],
                                                      batch_gt_instances_ignore[i])
            sampling_results.append(self.bbox_sampler.sample(
                assign_result, rpn_results, batch_gt_instances[i], feats=maps.image(i)))
        return self.bbox_loss(maps, sampling_results)['loss_bbox']

    def _bbox_forward(self, x: Union[Sequence[Tensor], ScoreMaps], rois: Tensor) -> dict:
        """``x``: the features (``(N, C, H, W)`` per level) or their :class:`ScoreMaps`;
        ``rois`` ``(K, 5)``.

        Returns ``cls_score`` ``(K, num_classes+1)``, ``bbox_pred`` ``(K, 4[*num_classes])``
        and ``bbox_feats``, the pooled class scores ``(K, num_classes+1, k, k)``.
        """
        maps = x if isinstance(x, ScoreMaps) else self.score_maps(x)
        cls_feats = self.bbox_roi_extractor(maps.cls, rois)
        reg_feats = self.bbox_roi_extractor(maps.reg, rois)
        cls_score, bbox_pred = self.bbox_head(cls_feats, reg_feats)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=cls_feats)

