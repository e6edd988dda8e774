"""R-FCN vs Faster R-CNN C4 (RoI Align): inference and training-step time per image.

``tools/benchmark_head.py``, docs/benchmarks.md; ``Workload`` serves projects/LightHeadRCNN too.
Random weights; the RoI count is fixed by the RPN (its 6000 top boxes, as mmdet's C4 test config,
none suppressed: NMS at IoU 1.0, which over every anchor would cost seconds no head causes) and
in training by the RoI sampler. Speed-up: Faster R-CNN time / R-FCN time, per round.
"""
import argparse
import copy
import itertools
import os

import torch

from mmdet_psroi.models.detectors.rfcn import RFCN

from .arguments import at_least, device
from .config_checks import without_pretrained
from .outputs import row, table, write_json
from .timing import speedup, synchronized

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {
    'R-FCN': 'configs/rfcn/rfcn_r50-c4_1x_coco.py',
    'Faster R-CNN C4': 'configs/baselines/mmdet-stock_faster-rcnn_r50-caffe-c4_1x_coco.py',
}
IMAGE_SHAPE = (600, 1000)
RPN_TOP_BOXES = 6000  # >= the largest RoI count benchmarked
AMP_MODES = {'off': (False,), 'on': (True,), 'both': (False, True)}


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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rois', type=at_least(1), nargs='+', default=[300, 1000, 2000])
    parser.add_argument('--rounds', type=at_least(1), default=3)
    parser.add_argument('--quick', action='store_true', help='inference rows only')
    parser.add_argument('--device', type=device, default='cpu', help='cpu or cuda[:index]')
    parser.add_argument('--amp', choices=sorted(AMP_MODES), default='off',
                        help='GPU only: the forward under float16 autocast too (both) or only '
                             '(on)')
    parser.add_argument('--image-size', type=at_least(1), nargs=2, default=IMAGE_SHAPE,
                        metavar=('H', 'W'), help='default: %(default)s (smaller: dry runs)')
    parser.add_argument('--json', default='work_dirs/benchmark_head.json')
    args = parser.parse_args(argv)
    if max(args.rois) > RPN_TOP_BOXES:
        parser.error(f'--rois takes at most {RPN_TOP_BOXES} (the RPN boxes kept per image)')
    if args.amp != 'off' and args.device.type != 'cuda':
        parser.error(f'--amp {args.amp} needs --device cuda: on the CPU, mmcv\'s NMS does not '
                     'take the bfloat16 scores that autocast gives')
    return args


def main(argv=None):
    args = parse_args(argv)
    where = (torch.cuda.get_device_name(args.device) if args.device.type == 'cuda'
             else f'{torch.get_num_threads()} threads')
    height, width = args.image_size
    print(f'torch {torch.__version__}, {where}, image {height}x{width}, ResNet-50, times per '
          f'image, median of {args.rounds} alternating rounds\n')
    amp_column = ['AMP'] if args.amp != 'off' else []
    print('\n'.join(table(['RoIs', 'phase', 'part', *amp_column, 'R-FCN s', 'Faster R-CNN C4 s',
                           'speed-up'])))
    rows = []
    phases = [('inference', 'infer')] + ([] if args.quick else [('training step', 'train')])
    parts = (('whole model', 'model'), ('RoI head', 'head'))
    for num_rois in args.rois:
        rfcn, faster = (Workload(CONFIGS[name], num_rois, args.device, args.image_size)
                        for name in ('R-FCN', 'Faster R-CNN C4'))
        for (phase, prefix), (part, suffix), amp in itertools.product(
                phases, parts, AMP_MODES[args.amp]):
            rfcn.amp = faster.amp = amp
            method = f'{prefix}_{suffix}'
            a, b, ratio = speedup(getattr(rfcn, method), getattr(faster, method), args.rounds,
                                  measure=synchronized(args.device))
            rows.append(dict(rois=num_rois, phase=phase, part=part, amp=amp, rfcn_s=a,
                             faster_s=b, speedup=ratio))
            print(row([num_rois, phase, part] + [('yes' if amp else 'no')] * len(amp_column)
                      + [f'{a:.3f}', f'{b:.3f}', f'**{ratio:.1f}x**']), flush=True)
        del rfcn, faster
    write_json(args.json, dict(torch=torch.__version__, device=str(args.device),
                               device_name=where, threads=torch.get_num_threads(),
                               image=[height, width], rounds=args.rounds, amp=args.amp, rows=rows))
    print(f'\nwrote {args.json}')

