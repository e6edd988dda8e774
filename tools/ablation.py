"""Train and compare detectors that differ only in their RoI head (what `make demo` runs).

For each config: train with MMDetection's runner and evaluate bbox mAP / AP50 / AP75 on the
val split with ``CocoMetric``. Then time inference per image in this process, same thread
count for every model, in interleaved rounds (each round times every model once over the val
split), so that a change in the machine's speed hits all models alike. Writes, under
``--work-dir`` (default ``work_dirs/neon_trees_ablation``):

    results.json, results.md   the table (also printed), updated after every model
    ap.png, latency.png        bars per model
    loss_curves.png            training loss per model
    predictions_<model>.png    a few val tiles: ground truth (green), predictions (red)

A finished model's results and checkpoint are kept if a later one fails; the results of a
previous run are kept as ``results.previous.json``.

Usage:
    python tools/ablation.py                                   # the three NEON configs
    python tools/ablation.py --max-iters 2 --data-root DIR     # a smoke run
"""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
import statistics
import sys
import time

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmdet_psroi  # noqa: E402,F401

DEFAULT_CONFIGS = [
    'configs/neon_trees/rfcn_psroipool_mobilenetv2_neon-trees.py',
    'configs/neon_trees/rfcn_psroialign_mobilenetv2_neon-trees.py',
    'configs/neon_trees/faster-rcnn_roialign_mobilenetv2_neon-trees.py',
]
METRICS = ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75')


def say(message):
    print(f'[ablation] {message}', flush=True)


def model_name(config_path):
    return osp.splitext(osp.basename(config_path))[0]


def load_config(path, work_dir, args):
    """The config of one run: its work dir, and the command line's overrides."""
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    cfg.visualizer.name = f'visualizer_{model_name(path)}'
    if args.data_root:
        root = args.data_root.rstrip('/') + '/'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[loader].dataset.data_root = root
        for evaluator in ('val_evaluator', 'test_evaluator'):
            cfg[evaluator].ann_file = root + 'annotations/val.json'
    if args.max_iters:
        iters = args.max_iters
        cfg.train_cfg.max_iters = iters
        cfg.train_cfg.val_interval = iters
        cfg.default_hooks.checkpoint.interval = iters
        cfg.default_hooks.logger.interval = min(cfg.default_hooks.logger.interval, iters)
        cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def inference_seconds(runner, warmup=2):
    """Seconds per val image (batch 1) of one pass, the first ``warmup`` images left out."""
    model = runner.model
    model.eval()
    times = []
    with torch.no_grad():
        for index, data in enumerate(runner.test_dataloader):
            start = time.perf_counter()
            model.test_step(data)
            if index >= warmup:
                times.append(time.perf_counter() - start)
    if not times:
        raise RuntimeError(f'not enough val images to time inference (more than {warmup} '
                           'are needed)')
    return times


def time_interleaved(runners, rounds):
    """Median and mean ms per image of every runner, timed round-robin over ``rounds``."""
    times = [[] for _ in runners]
    for round_index in range(1, rounds + 1):
        say(f'timing inference, round {round_index}/{rounds}')
        for model_times, runner in zip(times, runners):
            model_times.extend(inference_seconds(runner))
    return [(statistics.median(t) * 1e3, statistics.mean(t) * 1e3) for t in times]


def loss_curve(work_dir):
    """[(iter, loss), ...] from the runner's scalars.json (the newest run in work_dir)."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    curve = []
    if files:
        with open(files[-1]) as f:
            for line in f:
                record = json.loads(line)
                if 'loss' in record and 'iter' in record:
                    curve.append((record['iter'], record['loss']))
    return curve


def run_one(path, out_dir, args):
    """Train and evaluate one config; returns its result (no timing yet) and its runner."""
    name = model_name(path)
    work_dir = osp.join(out_dir, name)
    cfg = load_config(path, work_dir, args)
    say(f'training {name} for {cfg.train_cfg.max_iters} iterations')
    torch.manual_seed(0)
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    runner.train()
    train_s = time.perf_counter() - start
    say(f'evaluating {name}')
    metrics = runner.test()
    result = dict(model=name, config=path, train_seconds=train_s,
                  threads=torch.get_num_threads(), loss_curve=loss_curve(work_dir),
                  **{key.split('/')[-1]: float(metrics[key]) for key in METRICS})
    draw_predictions(runner, name, out_dir, args.show_images)
    return result, runner


def table(results):
    lines = ['| model | mAP | AP50 | AP75 | inference ms/image (median) | train s |',
             '|---|---|---|---|---|---|']
    for r in results:
        latency = (f"{r['inference_ms_median']:.1f}" if 'inference_ms_median' in r
                   else 'not timed yet')
        lines.append(f"| {r['model']} | {r['bbox_mAP']:.3f} | {r['bbox_mAP_50']:.3f} | "
                     f"{r['bbox_mAP_75']:.3f} | {latency} | {r['train_seconds']:.0f} |")
    return '\n'.join(lines)


def write_results(results, out_dir):
    with open(osp.join(out_dir, 'results.json'), 'w') as f:
        json.dump(dict(torch=torch.__version__, threads=torch.get_num_threads(),
                       results=results), f, indent=2)
    with open(osp.join(out_dir, 'results.md'), 'w') as f:
        f.write(f'{table(results)}\n\n{torch.get_num_threads()} threads, torch '
                f'{torch.__version__}; AP on the val split with mmdet CocoMetric.\n')


def plot_summary(results, out_dir):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = [r['model'].replace('_mobilenetv2_neon-trees', '') for r in results]
    x = np.arange(len(results))
    fig, ax = plt.subplots(figsize=(7, 4))
    for offset, key, label in ((-0.25, 'bbox_mAP', 'mAP'), (0, 'bbox_mAP_50', 'AP50'),
                               (0.25, 'bbox_mAP_75', 'AP75')):
        ax.bar(x + offset, [r[key] for r in results], 0.25, label=label)
    ax.set_xticks(x, names)
    ax.set_ylabel('AP (val)')
    ax.legend()
    ax.set_title('NEON tree crowns: accuracy')
    fig.tight_layout()
    fig.savefig(osp.join(out_dir, 'ap.png'), dpi=100)
    plt.close(fig)

    if all('inference_ms_median' in r for r in results):
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.bar(x, [r['inference_ms_median'] for r in results], 0.5)
        ax.set_xticks(x, names)
        ax.set_ylabel('ms / image (median)')
        ax.set_title(f'Inference on the CPU, {results[0]["threads"]} threads')
        fig.tight_layout()
        fig.savefig(osp.join(out_dir, 'latency.png'), dpi=100)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, r in zip(names, results):
        if r['loss_curve']:
            iters, losses = zip(*r['loss_curve'])
            ax.plot(iters, losses, label=name)
    ax.set_xlabel('iteration')
    ax.set_ylabel('training loss')
    ax.legend()
    fig.tight_layout()
    fig.savefig(osp.join(out_dir, 'loss_curves.png'), dpi=100)
    plt.close(fig)


def draw_predictions(runner, name, out_dir, count, score_thr=0.3):
    """A row of val tiles with ground truth (green) and predictions (red)."""
    import cv2

    model = runner.model
    model.eval()
    tiles = []
    with torch.no_grad():
        for index, data in enumerate(runner.test_dataloader):
            if index >= count:
                break
            sample = model.test_step(data)[0]
            image = cv2.imread(sample.img_path)
            for box in sample.gt_instances.bboxes.tensor.tolist() \
                    if hasattr(sample.gt_instances.bboxes, 'tensor') \
                    else sample.gt_instances.bboxes.tolist():
                cv2.rectangle(image, tuple(map(int, box[:2])), tuple(map(int, box[2:])),
                              (0, 200, 0), 1)
            pred = sample.pred_instances
            for box in pred.bboxes[pred.scores >= score_thr].tolist():
                cv2.rectangle(image, tuple(map(int, box[:2])), tuple(map(int, box[2:])),
                              (0, 0, 255), 1)
            tiles.append(image)
    if tiles:
        height = min(t.shape[0] for t in tiles)
        row = np.concatenate([t[:height] for t in tiles], axis=1)
        cv2.imwrite(osp.join(out_dir, f'predictions_{name}.png'), row)


def main():
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--configs', nargs='+', default=DEFAULT_CONFIGS)
    parser.add_argument('--work-dir', default='work_dirs/neon_trees_ablation')
    parser.add_argument('--data-root', help='override the configs\' data root')
    parser.add_argument('--max-iters', type=int, help='override the schedule (constant lr)')
    parser.add_argument('--show-images', type=int, default=3)
    parser.add_argument('--timing-rounds', type=int, default=3,
                        help='interleaved inference timing rounds over the val split')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    for path in args.configs:
        if not osp.isfile(path):
            parser.error(f'config not found: {path}')
    if args.max_iters is not None and args.max_iters < 1:
        parser.error(f'--max-iters must be >= 1, got {args.max_iters}')
    if args.timing_rounds < 1:
        parser.error(f'--timing-rounds must be >= 1, got {args.timing_rounds}')

    out_dir = args.work_dir
    os.makedirs(out_dir, exist_ok=True)
    previous = osp.join(out_dir, 'results.json')
    if osp.isfile(previous):
        shutil.copy(previous, osp.join(out_dir, 'results.previous.json'))
    results, runners = [], []
    for index, path in enumerate(args.configs, start=1):
        say(f'model {index}/{len(args.configs)}: {path}')
        result, runner = run_one(path, out_dir, args)
        results.append(result)
        runners.append(runner)
        write_results(results, out_dir)
        plot_summary(results, out_dir)
    for result, (median_ms, mean_ms) in zip(results,
                                            time_interleaved(runners, args.timing_rounds)):
        result.update(inference_ms_median=median_ms, inference_ms_mean=mean_ms)
    write_results(results, out_dir)
    plot_summary(results, out_dir)
    print('\n' + table(results) + '\n')
    say(f'wrote {out_dir}/results.json, results.md and PNGs')


if __name__ == '__main__':
    main()
