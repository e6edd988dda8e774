import copy
from typing import Optional, Sequence, Tuple

import torch
from mmdet.models.detectors import TwoStageDetector
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from torch import Tensor


@MODELS.register_module()
class RFCN(TwoStageDetector):
    """R-FCN (Dai et al., 2016): a two-stage detector whose RPN and RoI head may read
    different outputs of the backbone (or neck).

    The paper's setting: ResNet with ``strides=(1, 2, 2, 1)``, ``dilations=(1, 1, 1, 2)``,
    ``out_indices=(2, 3)``; the RPN reads conv4 (``rpn_in_indices=(0,)``) and the R-FCN
    head reads the dilated conv5 (``roi_in_indices=(1,)``), both at stride 16. With an FPN
    neck leave both ``None``: each head reads every level.

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, test_cfg, data_preprocessor,
        init_cfg: as in mmdet's ``TwoStageDetector``.
        rpn_in_indices (Sequence[int], optional): indices of the feature tuple the RPN reads.
        roi_in_indices (Sequence[int], optional): indices the RoI head reads.
    """

    def __init__(self,
                 backbone: dict,
                 rpn_head: dict,
                 roi_head: dict,
                 train_cfg: dict,
                 test_cfg: dict,
                 neck: Optional[dict] = None,
                 rpn_in_indices: Optional[Sequence[int]] = None,
                 roi_in_indices: Optional[Sequence[int]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head,
                         train_cfg=train_cfg, test_cfg=test_cfg,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.rpn_in_indices = _check_indices(rpn_in_indices, 'rpn_in_indices')
        self.roi_in_indices = _check_indices(roi_in_indices, 'roi_in_indices')

    def route_features(self, x: Tuple[Tensor]) -> Tuple[Tuple[Tensor], Tuple[Tensor]]:
        """``extract_feat``'s tuple -> ``(features the RPN reads, features the RoI head reads)``
        (``rpn_in_indices`` and ``roi_in_indices``; all of ``x`` where they are None)."""
        return (_select(x, self.rpn_in_indices, 'rpn_in_indices'),
                _select(x, self.roi_in_indices, 'roi_in_indices'))

    def _proposals(self, x_rpn, batch_data_samples: SampleList):
        """The samples' own proposals where they have them, else the RPN's
        (``rpn_head.predict`` without rescaling, decoded as :meth:`_decode_proposals` says)."""
        if batch_data_samples[0].get('proposals', None) is not None:
            return [data_sample.proposals for data_sample in batch_data_samples]
        batch_img_metas = [data_sample.metainfo for data_sample in batch_data_samples]
        return self._decode_proposals(self.rpn_head(x_rpn), batch_img_metas)

    def _decode_proposals(self, rpn_outs, batch_img_metas, cfg=None):
        """``rpn_head.predict_by_feat`` in float32 outside autocast: under mixed precision the
        RPN's outputs are float16/bfloat16, which mmcv's CPU NMS refuses (and in which decoded
        box coordinates lose precision). ``cfg``: the proposal settings (default: the RPN's
        test settings)."""
        with torch.autocast(device_type=rpn_outs[0][0].device.type, enabled=False):
            rpn_outs = tuple([level.float() for level in out] for out in rpn_outs)
            return self.rpn_head.predict_by_feat(*rpn_outs, batch_img_metas=batch_img_metas,
                                                 cfg=cfg)

    def _forward(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> tuple:
        x_rpn, x_roi = self.route_features(self.extract_feat(batch_inputs))
        rpn_results_list = self._proposals(x_rpn, batch_data_samples)
        return (self.roi_head.forward(x_roi, rpn_results_list, batch_data_samples), )

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        x_rpn, x_roi = self.route_features(self.extract_feat(batch_inputs))
        losses = dict()
        if self.with_rpn:
            proposal_cfg = self.train_cfg.get('rpn_proposal', self.test_cfg.rpn)
            rpn_data_samples = copy.deepcopy(batch_data_samples)
            for data_sample in rpn_data_samples:  # the RPN is class-agnostic
                labels = data_sample.gt_instances.labels
                data_sample.gt_instances.labels = torch.zeros_like(labels)
            rpn_losses, rpn_results_list = self._rpn_loss_and_proposals(
                x_rpn, rpn_data_samples, proposal_cfg)
            for key in list(rpn_losses):
                if 'loss' in key and 'rpn' not in key:
                    rpn_losses[f'rpn_{key}'] = rpn_losses.pop(key)
            losses.update(rpn_losses)
        else:
            rpn_results_list = self._proposals(x_rpn, batch_data_samples)
        losses.update(self.roi_head.loss(x_roi, rpn_results_list, batch_data_samples))
        return losses

    def _rpn_loss_and_proposals(self, x_rpn, batch_data_samples: SampleList, proposal_cfg):
        """``rpn_head.loss_and_predict``, with the proposals decoded as
        :meth:`_decode_proposals` says."""
        batch_gt_instances, batch_gt_instances_ignore, batch_img_metas = unpack_gt_instances(
            batch_data_samples)
        outs = self.rpn_head(x_rpn)
        losses = self.rpn_head.loss_by_feat(*outs, batch_gt_instances, batch_img_metas,
                                            batch_gt_instances_ignore)
        return losses, self._decode_proposals(outs, batch_img_metas, proposal_cfg)

    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        x_rpn, x_roi = self.route_features(self.extract_feat(batch_inputs))
        rpn_results_list = self._proposals(x_rpn, batch_data_samples)
        results_list = self.roi_head.predict(x_roi, rpn_results_list, batch_data_samples,
                                             rescale=rescale)
        return self.add_pred_to_datasample(batch_data_samples, results_list)


def _check_indices(indices, name):
    if indices is None:
        return None
    if (isinstance(indices, int) or not all(isinstance(i, int) and i >= 0 for i in indices)
            or len(indices) == 0):
        raise ValueError(f'RFCN: {name} must be None or a non-empty sequence of ints >= 0, '
                         f'got {indices!r}')
    return tuple(indices)


def _select(x, indices, name):
    if indices is None:
        return tuple(x)
    if max(indices) >= len(x):
        raise ValueError(f'RFCN: {name}={indices} but the backbone/neck gives {len(x)} '
                         'feature maps (check backbone.out_indices)')
    return tuple(x[i] for i in indices)
