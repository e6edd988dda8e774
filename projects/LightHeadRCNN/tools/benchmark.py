"""Light-Head R-CNN vs R-FCN vs Faster R-CNN C4 (RoI Align), CPU: time per image.

The set-up of tools/benchmark_head.py (``mmdet_psroi_tools.head_benchmark.Workload``):
ResNet-50 (caffe) with the same RPN, one 600x1000 image, the RPN returning exactly the RoI
count (unsuppressed), random weights; inference, and a training step (forward + backward),
of the whole model and of the RoI head alone on precomputed features and proposals. In
training the RoI sampler keeps every RoI (random sampling of ``num`` = RoIs, no OHEM), as for
the other two models. Each round times the three models one after another; the table gives
the medians over the rounds after a warm-up, and each model's speed-up over Faster R-CNN C4
(the median of the per-round ratios).

Usage (from the repository root):
    python projects/LightHeadRCNN/tools/benchmark.py                 # 300 and 1000 RoIs
    python projects/LightHeadRCNN/tools/benchmark.py --rounds 1 --quick
"""
import argparse
import json
import os

import torch

from mmdet_psroi_tools import head_benchmark
from mmdet_psroi_tools.head_benchmark import IMAGE_SHAPE, RPN_TOP_BOXES, Workload
from mmdet_psroi_tools.timing import interleaved_rounds, per_round_ratio

# Light-Head R-CNN, then tools/benchmark_head.py's two; the last one is the speed-up reference.
CONFIGS = {
    'Light-Head R-CNN': 'projects/LightHeadRCNN/configs/lighthead-rcnn_r50-c4_ohem_1x_coco.py',
    **head_benchmark.CONFIGS,
}
MODELS = tuple(CONFIGS)


def interleave(fns, rounds):
    """Median time of each callable over ``rounds`` interleaved rounds, and the median
    per-round ratio of the last one's time to each one's."""
    times = interleaved_rounds(dict(zip(MODELS, fns)), rounds)
    reference = times[MODELS[-1]]
    return ([times[name].median for name in MODELS],
            [per_round_ratio(reference, times[name]).median for name in MODELS])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rois', type=int, nargs='+', default=[300, 1000])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--quick', action='store_true', help='inference rows only')
    parser.add_argument('--image-size', type=int, nargs=2, default=IMAGE_SHAPE,
                        metavar=('H', 'W'), help='default: %(default)s')
    parser.add_argument('--json', default='work_dirs/benchmark_lighthead.json')
    args = parser.parse_args()
    if args.rounds < 1 or any(n < 1 for n in args.rois + list(args.image_size)):
        parser.error('--rounds, --rois and --image-size take positive integers')
    if max(args.rois) > RPN_TOP_BOXES:
        parser.error(f'--rois takes at most {RPN_TOP_BOXES}')

    shape = tuple(args.image_size)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, image '
          f'{shape[0]}x{shape[1]}, ResNet-50, seconds per image, median of {args.rounds} '
          'interleaved rounds; speed-up over Faster R-CNN C4\n')
    print('| RoIs | phase | part | ' + ' | '.join(f'{m} s' for m in MODELS)
          + ' | Light-Head speed-up | R-FCN speed-up |')
    print('|---|---|---|' + '---|' * (len(MODELS) + 2))
    rows = []
    phases = [('inference', 'infer')] + ([] if args.quick else [('training step', 'train')])
    for num_rois in args.rois:
        workloads = [Workload(CONFIGS[name], num_rois, 'cpu', shape) for name in MODELS]
        for phase, prefix in phases:
            for part, suffix in (('whole model', 'model'), ('RoI head', 'head')):
                method = f'{prefix}_{suffix}'
                times, speedups = interleave([getattr(w, method) for w in workloads],
                                             args.rounds)
                rows.append(dict(rois=num_rois, phase=phase, part=part,
                                 seconds=dict(zip(MODELS, times)),
                                 speedup_over_faster_rcnn=dict(zip(MODELS, speedups))))
                print(f'| {num_rois} | {phase} | {part} | '
                      + ' | '.join(f'{t:.3f}' for t in times)
                      + f' | **{speedups[0]:.1f}x** | {speedups[1]:.1f}x |', flush=True)
        del workloads
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, 'w') as f:
        json.dump(dict(torch=torch.__version__, threads=torch.get_num_threads(), image=shape,
                       rounds=args.rounds, rows=rows), f, indent=2)
    print(f'\nwrote {args.json}')


if __name__ == '__main__':
    main()
