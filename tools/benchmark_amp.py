"""Train one config in float32 and with --amp, and compare the val AP and the training time.

docs/mixed_precision.md. Same seed; the schedule shortened to ``--iters`` (learning-rate steps
scaled, warm-up kept). Prints a table and writes ``results.json`` under ``--work-dir``.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time

from mmdet_psroi_tools.ablation.training import logged_scalars, shorten_schedule
from mmdet_psroi_tools.arguments import at_least, existing_file
from mmdet_psroi_tools.outputs import table, write_json

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = 'configs/neon_trees/rfcn_psroialign_mobilenetv2_neon-trees.py'
METRICS = ('coco/bbox_mAP_50', 'coco/bbox_mAP')


def finished(process, run_dir, amp, start):
    """Waits for one training; its time, last logged val metrics and training loss."""
    if process.wait() != 0:
        raise RuntimeError(f'training failed, see {osp.join(run_dir, "train.log")}')
    seconds = time.perf_counter() - start
    records = logged_scalars(run_dir)
    if not records:
        raise RuntimeError(f'no training log (scalars.json) under {run_dir}')
    last = {key: next((r[key] for r in reversed(records) if key in r), None)
            for key in ('loss', *METRICS)}
    return dict(amp=amp, train_and_val_seconds=round(seconds, 1), final_loss=last['loss'],
                **{key.split('/')[-1]: last[key] for key in METRICS})


def train_both(config, work_dir, parallel):
    """The results of the float32 and the --amp training (tools/train.py), one after the
    other or at the same time."""
    results, running = [], []
    for name, amp in (('fp32', False), ('amp', True)):
        run_dir = osp.abspath(osp.join(work_dir, name))
        command = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config,
                   '--work-dir', run_dir] + (['--amp'] if amp else [])
        print('[benchmark_amp] ' + ' '.join(command), flush=True)
        os.makedirs(run_dir, exist_ok=True)
        with open(osp.join(run_dir, 'train.log'), 'w') as log:
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        running.append((process, run_dir, amp, time.perf_counter()))
        if not parallel:
            results.append(finished(*running.pop()))
    return results + [finished(*run) for run in running]


def main(argv=None):
    from mmengine.config import Config

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG, type=existing_file)
    parser.add_argument('--iters', type=at_least(1), default=300)
    parser.add_argument('--work-dir', default='work_dirs/amp_benchmark')
    parser.add_argument('--parallel', action='store_true',
                        help='train both at the same time (on a busy machine both then see '
                             'the same load; the times are then not those of a lone run)')
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    shorten_schedule(cfg, args.iters, constant_lr=False)
    config = osp.abspath(osp.join(args.work_dir, 'config.py'))
    os.makedirs(args.work_dir, exist_ok=True)
    cfg.dump(config)
    results = train_both(config, args.work_dir, args.parallel)
    write_json(osp.join(args.work_dir, 'results.json'), dict(
        config=args.config, iters=args.iters, parallel=args.parallel, runs=results), indent=1)
    print(f'\n{args.config}, {args.iters} iterations')
    print('\n'.join(table(['run', 'AP50', 'mAP', 'final loss', 'train + val s'], [
        ['--amp' if run['amp'] else 'float32', run['bbox_mAP_50'], run['bbox_mAP'],
         run['final_loss'], run['train_and_val_seconds']] for run in results])))
    fp32, amp = (run['bbox_mAP_50'] for run in results)
    if fp32 is not None and amp is not None:
        print(f'AP50 difference (--amp - float32): {100 * (amp - fp32):+.1f} points')


if __name__ == '__main__':
    main()
