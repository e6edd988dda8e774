"""R-FCN vs Faster R-CNN C4 (RoI Align): inference and training-step time per image.

Of the whole model and of the RoI head alone, at fixed RoI counts (docs/benchmarks.md; the
set-up: ``mmdet_psroi_tools/head_benchmark.py``). Medians of alternating rounds after a warm-up;
speed-up = Faster R-CNN time / R-FCN time.

    python tools/benchmark_head.py [--rois 300 1000 2000] [--rounds 3] [--quick]
    python tools/benchmark_head.py --device cuda --rois 300 2000 --amp both   # the GPU check's
"""
import argparse

import torch

from mmdet_psroi_tools.arguments import at_least, device
from mmdet_psroi_tools.head_benchmark import CONFIGS, IMAGE_SHAPE, RPN_TOP_BOXES, Workload
from mmdet_psroi_tools.outputs import row, table, write_json
from mmdet_psroi_tools.timing import interleaved_rounds, per_round_ratio, synchronized

AMP_MODES = {'off': (False,), 'on': (True,), 'both': (False, True)}


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
    phases = {'inference': 'infer', 'training step': 'train'}
    for num_rois in args.rois:
        rfcn, faster = (Workload(CONFIGS[name], num_rois, args.device, args.image_size)
                        for name in ('R-FCN', 'Faster R-CNN C4'))
        for phase in list(phases)[:1 if args.quick else 2]:
            for part, suffix in (('whole model', 'model'), ('RoI head', 'head')):
                for amp in AMP_MODES[args.amp]:
                    rfcn.amp = faster.amp = amp
                    method = f'{phases[phase]}_{suffix}'
                    times = interleaved_rounds(
                        {'a': getattr(rfcn, method), 'b': getattr(faster, method)}, args.rounds,
                        measure=synchronized(args.device))
                    a, b = times['a'].median, times['b'].median
                    ratio = per_round_ratio(times['b'], times['a']).median
                    rows.append(dict(rois=num_rois, phase=phase, part=part, amp=amp, rfcn_s=a,
                                     faster_s=b, speedup=ratio))
                    print(row([num_rois, phase, part] + [('yes' if amp else 'no')] * len(amp_column)
                              + [f'{a:.3f}', f'{b:.3f}', f'**{ratio:.1f}x**']), flush=True)
        del rfcn, faster
    write_json(args.json, dict(torch=torch.__version__, device=str(args.device),
                               device_name=where, threads=torch.get_num_threads(),
                               image=[height, width], rounds=args.rounds, amp=args.amp, rows=rows))
    print(f'\nwrote {args.json}')


if __name__ == '__main__':
    main()
