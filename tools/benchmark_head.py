"""R-FCN vs Faster R-CNN C4 (RoI Align): inference and training-step time per image.

Both models use the same ResNet-50 (caffe) backbone, RPN and input size (600x1000); they
differ only in the RoI head: R-FCN computes position-sensitive score maps once per image and
pools them per RoI; Faster R-CNN C4 pools 14x14 RoI Align features and runs res5 per RoI.
The RoI count is fixed by the RPN settings and, in training, by the RoI sampler (``num`` =
RoIs): the RPN keeps its 6000 top-scoring boxes (``nms_pre``, as mmdet's C4 test config),
suppresses none of them (NMS at IoU 1.0) and returns ``max_per_img`` = RoIs of them. Keeping
every anchor instead would put an NMS over ~36k boxes, seconds of quadratic work that neither
head causes, into both models' times.

Rows: the whole model (backbone + RPN + RoI head) and the RoI head alone (on precomputed
features and proposals), at each RoI count. Every time is the median over alternating rounds
(R-FCN, Faster R-CNN, R-FCN, ...) after a warm-up; speed-up = Faster R-CNN time / R-FCN time.
A training step is forward + backward (no optimizer update). Weights are random (no
download): timings do not depend on them.

On a GPU (``--device cuda``) every timed call is preceded and followed by a synchronize, so a
time is the whole call's, queued kernels included. ``--amp on`` (GPU only) runs the forward
under ``torch.autocast`` in float16 and the backward from it, with no loss scaling (it does not
change the time); ``--amp both`` times each row with and without.

Usage:
    python tools/benchmark_head.py                      # 300, 1000, 2000 RoIs, 3 rounds
    python tools/benchmark_head.py --rois 300 --rounds 1 --quick
    python tools/benchmark_head.py --device cuda --rois 300 2000 --amp both   # the GPU check's
"""
import argparse
import contextlib
import copy
import json
import os
import statistics
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmark_op import parse_device  # noqa: E402  (tools/, this script's folder)
from mmengine.config import Config  # noqa: E402

import mmdet_psroi  # noqa: E402,F401
from mmdet_psroi.models.detectors.rfcn import RFCN  # noqa: E402
from mmdet_psroi.utils.config_checks import without_pretrained  # noqa: E402

CONFIGS = {
    'R-FCN': 'configs/rfcn/rfcn_r50-c4_1x_coco.py',
    'Faster R-CNN C4': 'configs/baselines/mmdet-stock_faster-rcnn_r50-caffe-c4_1x_coco.py',
}
IMAGE_SHAPE = (600, 1000)
RPN_TOP_BOXES = 6000  # >= the largest RoI count benchmarked


def build(name, num_rois):
    """The model of CONFIGS[name], set to give exactly ``num_rois`` RoIs per image."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(os.path.join(ROOT, CONFIGS[name])).model
    without_pretrained(cfg)
    every_proposal = dict(nms_pre=RPN_TOP_BOXES, max_per_img=num_rois,
                          nms=dict(type='nms', iou_threshold=1.0), min_bbox_size=0)
    cfg.test_cfg.rpn = every_proposal
    cfg.test_cfg.rcnn.update(score_thr=0.0, max_per_img=100)
    cfg.train_cfg.rpn_proposal = every_proposal
    cfg.train_cfg.rcnn.sampler = dict(type='RandomSampler', num=num_rois, pos_fraction=0.25,
                                      neg_pos_ub=-1, add_gt_as_proposals=False)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def make_batch(model, image_shape):
    from mmdet.testing import demo_mm_inputs

    torch.manual_seed(0)
    packed = demo_mm_inputs(batch_size=1, image_shapes=[(3, *image_shape)], num_items=[5],
                            num_classes=80)
    return model.data_preprocessor(packed, True)


def features(model, batch):
    """(features the RPN reads, features the RoI head reads)."""
    x = model.extract_feat(batch['inputs'])
    return model.route_features(x) if isinstance(model, RFCN) else (x, x)


class Workload:
    """The four timed callables of one model at one RoI count, on a device, with or without
    autocast (``amp``, set between timings)."""

    def __init__(self, name, num_rois, device, image_shape):
        self.model = build(name, num_rois).to(device)
        self.batch = make_batch(self.model, image_shape)
        self.device = torch.device(device)
        self.amp = False
        self.model.eval()
        with torch.no_grad():
            x_rpn, self.x_roi = features(self.model, self.batch)
            self.proposals = self.model.rpn_head.predict(x_rpn, self.batch['data_samples'],
                                                         rescale=False)
        assert len(self.proposals[0]) == num_rois, (name, len(self.proposals[0]))
        for sample in self.batch['data_samples']:
            sample.gt_instances.labels = sample.gt_instances.labels % 80

    def samples(self):
        return copy.deepcopy(self.batch['data_samples'])

    def autocast(self):
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast('cuda', dtype=torch.float16)

    def infer_model(self):
        self.model.eval()
        with torch.no_grad(), self.autocast():
            self.model(self.batch['inputs'], self.samples(), mode='predict')

    def infer_head(self):
        self.model.eval()
        with torch.no_grad(), self.autocast():
            self.model.roi_head.predict(self.x_roi, copy.deepcopy(self.proposals),
                                        self.samples(), rescale=False)

    def train_model(self):
        self.model.train()
        with self.autocast():
            losses = self.model(self.batch['inputs'], self.samples(), mode='loss')
            loss, _ = self.model.parse_losses(losses)
        loss.backward()
        self.model.zero_grad(set_to_none=True)

    def train_head(self):
        self.model.train()
        x_roi = tuple(t.detach().requires_grad_() for t in self.x_roi)
        with self.autocast():
            losses = self.model.roi_head.loss(x_roi, copy.deepcopy(self.proposals),
                                              self.samples())
            loss, _ = self.model.parse_losses(losses)
        loss.backward()
        self.model.zero_grad(set_to_none=True)


def synchronize(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def alternate(fn_a, fn_b, rounds, device):
    fn_a(), fn_b()  # warm-up
    a_times, b_times, ratios = [], [], []
    for _ in range(rounds):
        for fn, times in ((fn_a, a_times), (fn_b, b_times)):
            synchronize(device)
            start = time.perf_counter()
            fn()
            synchronize(device)
            times.append(time.perf_counter() - start)
        ratios.append(b_times[-1] / a_times[-1])
    return statistics.median(a_times), statistics.median(b_times), statistics.median(ratios)


AMP_MODES = {'off': (False,), 'on': (True,), 'both': (False, True)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rois', type=int, nargs='+', default=[300, 1000, 2000])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--quick', action='store_true', help='inference rows only')
    parser.add_argument('--device', default='cpu', help='cpu (default) or cuda[:index]')
    parser.add_argument('--amp', choices=sorted(AMP_MODES), default='off',
                        help='time under torch.autocast too (both) or only (on)')
    parser.add_argument('--image-size', type=int, nargs=2, default=IMAGE_SHAPE,
                        metavar=('H', 'W'), help='default: %(default)s (smaller: dry runs)')
    parser.add_argument('--json', default='work_dirs/benchmark_head.json')
    args = parser.parse_args(argv)
    if args.rounds < 1 or any(n < 1 for n in args.rois + list(args.image_size)):
        parser.error('--rounds, --rois and --image-size take positive integers')
    if max(args.rois) > RPN_TOP_BOXES:
        parser.error(f'--rois takes at most {RPN_TOP_BOXES} (the RPN boxes kept per image)')
    args.device = parse_device(parser, args.device)
    if args.amp != 'off' and args.device.type != 'cuda':
        parser.error(f'--amp {args.amp} needs --device cuda: on the CPU, mmcv\'s NMS does not '
                     'take the bfloat16 scores that autocast gives')
    return args


def main(argv=None):
    args = parse_args(argv)
    device = args.device
    where = (torch.cuda.get_device_name(device) if device.type == 'cuda'
             else f'{torch.get_num_threads()} threads')
    height, width = args.image_size
    print(f'torch {torch.__version__}, {where}, image {height}x{width}, ResNet-50, times per '
          f'image, median of {args.rounds} alternating rounds\n')
    amp_column = args.amp != 'off'
    print('| RoIs | phase | part |' + (' AMP |' if amp_column else '')
          + ' R-FCN s | Faster R-CNN C4 s | speed-up |')
    print('|---' * (7 if amp_column else 6) + '|')
    rows = []
    phases = (('inference', 'infer'),) if args.quick else (('inference', 'infer'),
                                                           ('training step', 'train'))
    for num_rois in args.rois:
        rfcn, faster = (Workload(name, num_rois, device, args.image_size)
                        for name in ('R-FCN', 'Faster R-CNN C4'))
        for phase, prefix in phases:
            for part, suffix in (('whole model', 'model'), ('RoI head', 'head')):
                for amp in AMP_MODES[args.amp]:
                    rfcn.amp = faster.amp = amp
                    method = f'{prefix}_{suffix}'
                    a, b, ratio = alternate(getattr(rfcn, method), getattr(faster, method),
                                            args.rounds, device)
                    rows.append(dict(rois=num_rois, phase=phase, part=part, amp=amp, rfcn_s=a,
                                     faster_s=b, speedup=ratio))
                    amp_cell = (' yes |' if amp else ' no |') if amp_column else ''
                    print(f'| {num_rois} | {phase} | {part} |{amp_cell} {a:.3f} | {b:.3f} | '
                          f'**{ratio:.1f}x** |', flush=True)
        del rfcn, faster
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, 'w') as f:
        json.dump(dict(torch=torch.__version__, device=str(device), device_name=where,
                       threads=torch.get_num_threads(), image=[height, width],
                       rounds=args.rounds, amp=args.amp, rows=rows), f, indent=2)
    print(f'\nwrote {args.json}')


if __name__ == '__main__':
    main()
