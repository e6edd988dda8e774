"""The detectors that the head benchmarks time (tools/benchmark_head.py,
projects/LightHeadRCNN/tools/benchmark.py), set to a fixed RoI count, and their timed calls.

The RoI count is fixed by the RPN settings and, in training, by the RoI sampler (``num`` =
RoIs): the RPN keeps its 6000 top-scoring boxes (``nms_pre``, as mmdet's C4 test config),
suppresses none (NMS at IoU 1.0; over every anchor it would add seconds no head causes) and
returns ``max_per_img`` = RoIs of them. Weights are random (no download).
"""
import copy
import os

import torch

from mmdet_psroi.models.detectors.rfcn import RFCN

from .config_checks import without_pretrained

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {
    'R-FCN': 'configs/rfcn/rfcn_r50-c4_1x_coco.py',
    'Faster R-CNN C4': 'configs/baselines/mmdet-stock_faster-rcnn_r50-caffe-c4_1x_coco.py',
}
IMAGE_SHAPE = (600, 1000)
RPN_TOP_BOXES = 6000  # >= the largest RoI count benchmarked


def build(config, num_rois):
    """The model of ``config`` (a path, relative to the repository root or absolute), set to
    give exactly ``num_rois`` RoIs per image."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    register_all_modules()
    cfg = Config.fromfile(os.path.join(ROOT, config)).model
    without_pretrained(cfg)
    every_proposal = dict(nms_pre=RPN_TOP_BOXES, max_per_img=num_rois,
                          nms=dict(type='nms', iou_threshold=1.0), min_bbox_size=0)
    cfg.test_cfg.rpn = cfg.train_cfg.rpn_proposal = every_proposal
    cfg.test_cfg.rcnn.update(score_thr=0.0, max_per_img=100)
    cfg.train_cfg.rcnn.sampler = dict(type='RandomSampler', num=num_rois, pos_fraction=0.25,
                                      neg_pos_ub=-1, add_gt_as_proposals=False)
    torch.manual_seed(0)
    return MODELS.build(cfg)


class Workload:
    """The four timed callables of the model of ``config`` at one RoI count, on a device, with
    or without float16 autocast (``amp``, set between timings; no loss scaling)."""

    def __init__(self, config, num_rois, device, image_shape):
        from mmdet.testing import demo_mm_inputs

        self.model = build(config, num_rois).to(device).eval()
        torch.manual_seed(0)
        self.batch = self.model.data_preprocessor(demo_mm_inputs(
            batch_size=1, image_shapes=[(3, *image_shape)], num_items=[5], num_classes=80), True)
        self.amp = False
        with torch.no_grad():  # (features the RPN reads, features the RoI head reads)
            x = self.model.extract_feat(self.batch['inputs'])
            x_rpn, self.x_roi = self.model.route_features(x) if isinstance(self.model, RFCN) \
                else (x, x)
            self.proposals = self.model.rpn_head.predict(x_rpn, self.batch['data_samples'],
                                                         rescale=False)
        assert len(self.proposals[0]) == num_rois, (config, len(self.proposals[0]))
        for sample in self.batch['data_samples']:
            sample.gt_instances.labels = sample.gt_instances.labels % 80

    def samples(self):
        return copy.deepcopy(self.batch['data_samples'])

    def autocast(self):
        return torch.autocast('cuda', dtype=torch.float16, enabled=self.amp)

    def _infer(self, predict):
        self.model.eval()
        with torch.no_grad(), self.autocast():
            predict()

    def _train_step(self, losses):
        self.model.train()
        with self.autocast():
            loss, _ = self.model.parse_losses(losses())
        loss.backward()
        self.model.zero_grad(set_to_none=True)

    def infer_model(self):
        self._infer(lambda: self.model(self.batch['inputs'], self.samples(), mode='predict'))

    def infer_head(self):
        self._infer(lambda: self.model.roi_head.predict(
            self.x_roi, copy.deepcopy(self.proposals), self.samples(), rescale=False))

    def train_model(self):
        self._train_step(lambda: self.model(self.batch['inputs'], self.samples(), mode='loss'))

    def train_head(self):
        x_roi = tuple(t.detach().requires_grad_() for t in self.x_roi)
        self._train_step(lambda: self.model.roi_head.loss(
            x_roi, copy.deepcopy(self.proposals), self.samples()))
