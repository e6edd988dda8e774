"""Train and compare detectors that differ only in their RoI head, over seeds.

docs/neon_demo.md (the outputs under ``--work-dir``). A smoke run:
``python tools/ablation.py --max-iters 2 --data-root DIR``.
"""
import argparse
import os.path as osp
import shutil
import statistics

import torch

import mmdet_psroi.plugin  # noqa: F401  (registers R-FCN)
from mmdet_psroi_tools.ablation.report import checked_baseline, draw_predictions, write_results
from mmdet_psroi_tools.ablation.run_cache import load_run
from mmdet_psroi_tools.ablation.training import model_name, say, time_interleaved, train_or_reuse
from mmdet_psroi_tools.arguments import at_least, existing_file

DEFAULT_CONFIGS = [
    'configs/neon_trees/rfcn_psroipool_mobilenetv2_neon-trees.py',
    'configs/neon_trees/rfcn_psroialign_mobilenetv2_neon-trees.py',
    'configs/neon_trees/faster-rcnn_roialign_mobilenetv2_neon-trees.py',
]


def collect_runs(args):
    """The records of every (seed, config) run, trained or reused; the results after each."""
    runs = []
    for record in train_or_reuse(args.configs, args.seeds, args.work_dir, args.retrain,
                                 data_root=args.data_root, max_iters=args.max_iters,
                                 cfg_options=args.cfg_options):
        runs.append(record)
        write_results(runs, args.models, args.baseline, args.work_dir)
    return runs


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='*', metavar='CONFIG', type=existing_file,
                        help='configs to compare (default: the three NEON demo configs)')
    parser.add_argument('--configs', dest='config_list', nargs='+', metavar='CONFIG',
                        type=existing_file, help='the same as the positional configs')
    parser.add_argument('--seeds', type=at_least(1), default=1,
                        help='train every config with seeds 0..N-1 (default 1)')
    parser.add_argument('--baseline', help='model (config file name without .py) the others '
                                           'are compared with; default: the last config')
    parser.add_argument('--retrain', action='store_true',
                        help='train every run again instead of reusing finished ones')
    parser.add_argument('--work-dir', default='work_dirs/neon_trees_ablation')
    parser.add_argument('--data-root', help='override the configs\' data root')
    parser.add_argument('--max-iters', type=at_least(1),
                        help='override the schedule (constant lr)')
    parser.add_argument('--show-images', type=at_least(0), default=3)
    parser.add_argument('--timing-rounds', type=at_least(1), default=3,
                        help='interleaved inference timing rounds over the val split')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if args.configs and args.config_list:
        parser.error('give the configs either as positional arguments or with --configs, '
                     'not both')
    args.configs = args.configs or args.config_list or DEFAULT_CONFIGS
    args.models = [model_name(path) for path in args.configs]
    args.baseline = checked_baseline(parser, args.models, args.baseline)
    if any(key.startswith('randomness.seed') or key == 'randomness'
           for key in args.cfg_options or ()):
        parser.error('--cfg-options must not set randomness.seed: the seeds come from --seeds')
    return args


def main(argv=None):
    args = parse_args(argv)
    out_dir = args.work_dir
    results = osp.join(out_dir, 'results.json')
    if osp.isfile(results):
        shutil.copy(results, osp.join(out_dir, 'results.previous.json'))
    runs = collect_runs(args)

    say('loading the trained models for timing')
    trained = [load_run(record['work_dir'])[:2] for record in runs]
    for record, (model, dataloader), times in zip(runs, trained,
                                                  time_interleaved(trained, args.timing_rounds)):
        if record['seed'] == 0:
            draw_predictions(model, dataloader, record['model'], out_dir, args.show_images)
        record.update(inference_ms=[round(t, 3) for t in times],
                      inference_ms_median=statistics.median(times),
                      timing_threads=torch.get_num_threads())
    write_results(runs, args.models, args.baseline, out_dir)
    with open(osp.join(out_dir, 'results.md')) as f:
        print('\n' + f.read())
    reused = [f"{r['model']} seed {r['seed']}" for r in runs if r['reused']]
    say(f'reused {len(reused)} of {len(runs)} finished runs'
        + (f': {", ".join(reused)}' if reused else ''))
    say(f'wrote {out_dir}/results.json, results.md and PNGs')


if __name__ == '__main__':
    main()
