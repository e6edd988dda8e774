"""Train and compare detectors that differ only in their RoI head, over seeds.

`make demo`; docs/neon_demo.md. Every (seed, config) run trained with ``randomness.seed`` = the
seed, or its finished run reused (``--retrain``: train again), evaluated on the val split; then
inference of every trained model timed in interleaved rounds. Per model: mean and std over seeds
and the difference to ``--baseline`` (default: the last config) paired by seed. Writes under
``--work-dir``: ``<model>/seed_<k>-<hash>/`` (one run), results.json (the previous one kept as
results.previous.json), results.md, ap.png, latency.png, loss_curves.png,
predictions_<model>.png. The parts: ``mmdet_psroi_tools/ablation/``.

    python tools/ablation.py [CONFIG ...] [--seeds 3] [--baseline MODEL]
    python tools/ablation.py --max-iters 2 --data-root DIR   # a smoke run
"""
import argparse
import os
import os.path as osp
import shutil
import statistics

import torch

import mmdet_psroi.plugin  # noqa: F401  (registers R-FCN)
from mmdet_psroi_tools.ablation.report import draw_predictions, write_results
from mmdet_psroi_tools.ablation.run_cache import load_run
from mmdet_psroi_tools.ablation.timing import time_interleaved
from mmdet_psroi_tools.ablation.training import model_name, say, train_or_reuse

DEFAULT_CONFIGS = [
    'configs/neon_trees/rfcn_psroipool_mobilenetv2_neon-trees.py',
    'configs/neon_trees/rfcn_psroialign_mobilenetv2_neon-trees.py',
    'configs/neon_trees/faster-rcnn_roialign_mobilenetv2_neon-trees.py',
]


def collect_runs(configs, seeds, out_dir, args):
    """Train (or reuse) every (seed, config) run, seeds outer; the (record, config) pairs, in
    that order. The results are rewritten after every run."""
    runs = []
    for run in train_or_reuse(configs, seeds, out_dir, args.retrain, data_root=args.data_root,
                              max_iters=args.max_iters, cfg_options=args.cfg_options):
        runs.append(run)
        write_results([record for record, _ in runs], [model_name(c) for c in configs],
                      args.baseline, out_dir)
    return runs


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='*', metavar='CONFIG',
                        help='configs to compare (default: the three NEON demo configs)')
    parser.add_argument('--configs', dest='config_list', nargs='+', metavar='CONFIG',
                        help='the same as the positional configs')
    parser.add_argument('--seeds', type=int, default=1,
                        help='train every config with seeds 0..N-1 (default 1)')
    parser.add_argument('--baseline', help='model (config file name without .py) the others '
                                           'are compared with; default: the last config')
    parser.add_argument('--retrain', action='store_true',
                        help='train every run again instead of reusing finished ones')
    parser.add_argument('--work-dir', default='work_dirs/neon_trees_ablation')
    parser.add_argument('--data-root', help='override the configs\' data root')
    parser.add_argument('--max-iters', type=int, help='override the schedule (constant lr)')
    parser.add_argument('--show-images', type=int, default=3)
    parser.add_argument('--timing-rounds', type=int, default=3,
                        help='interleaved inference timing rounds over the val split')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if args.configs and args.config_list:
        parser.error('give the configs either as positional arguments or with --configs, '
                     'not both')
    args.configs = args.configs or args.config_list or DEFAULT_CONFIGS
    for path in args.configs:
        if not osp.isfile(path):
            parser.error(f'config not found: {path}')
    models = [model_name(path) for path in args.configs]
    duplicates = sorted({m for m in models if models.count(m) > 1})
    if duplicates:
        parser.error(f'configs must have distinct file names (their runs are named after '
                     f'them), repeated: {", ".join(duplicates)}')
    for option, value in (('--seeds', args.seeds), ('--max-iters', args.max_iters),
                          ('--timing-rounds', args.timing_rounds)):
        if value is not None and value < 1:
            parser.error(f'{option} must be >= 1, got {value}')
    if args.baseline is None:
        args.baseline = models[-1]
    elif args.baseline not in models:
        parser.error(f'--baseline {args.baseline} is not one of the models compared: '
                     f'{", ".join(models)}')
    if args.cfg_options and any(key.startswith('randomness.seed') or key == 'randomness'
                                for key in args.cfg_options):
        parser.error('--cfg-options must not set randomness.seed: the seeds come from --seeds')
    return args


def main(argv=None):
    args = parse_args(argv)
    out_dir = args.work_dir
    os.makedirs(out_dir, exist_ok=True)
    previous = osp.join(out_dir, 'results.json')
    if osp.isfile(previous):
        shutil.copy(previous, osp.join(out_dir, 'results.previous.json'))
    runs = collect_runs(args.configs, args.seeds, out_dir, args)

    say('loading the trained models for timing')
    trained = [load_run(record['work_dir'])[:2] for record, _ in runs]
    for (record, _), (model, dataloader) in zip(runs, trained):
        if record['seed'] == 0:
            draw_predictions(model, dataloader, record['model'], out_dir, args.show_images)
    for (record, _), times in zip(runs, time_interleaved(trained, args.timing_rounds)):
        record.update(inference_ms=[round(t, 3) for t in times],
                      inference_ms_median=statistics.median(times),
                      timing_threads=torch.get_num_threads())
    records = [record for record, _ in runs]
    write_results(records, [model_name(path) for path in args.configs], args.baseline, out_dir)
    with open(osp.join(out_dir, 'results.md')) as f:
        print('\n' + f.read())
    reused = [f"{r['model']} seed {r['seed']}" for r in records if r['reused']]
    say(f'reused {len(reused)} of {len(records)} finished runs'
        + (f': {", ".join(reused)}' if reused else ''))
    say(f'wrote {out_dir}/results.json, results.md and PNGs')


if __name__ == '__main__':
    main()
