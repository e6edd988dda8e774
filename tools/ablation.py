"""Train and compare detectors that differ only in their RoI head, over seeds (`make demo`).

For every seed 0..N-1 (``--seeds N``) and every config: train with MMDetection's runner, the
config's ``randomness.seed`` set to the seed, and evaluate bbox mAP / AP50 / AP75 on the val
split with ``CocoMetric``. Seeds are the outer loop, so a run stopped early holds whole seeds
of every model. After all training, time inference per image of every trained model in this
process, same thread count for all, in interleaved rounds (each round times one pass of every
model and seed over the val split and keeps its median ms per image), so that a change in the
machine's speed hits all alike.

Per model: mean and standard deviation over seeds of each metric, every seed's values, and
the difference to the baseline (``--baseline``, default the last config) with a 95 %
confidence interval paired by seed (``mmdet_psroi_tools/seed_statistics.py``: paired t
interval; none with one seed). Writes, under ``--work-dir`` (default
``work_dirs/neon_trees_ablation``):

    <model>/seed_<k>-<hash>/   one run: checkpoint, logs, config.py, run.json (its results);
                               <hash> identifies its config
    results.json, results.md   every run and the statistics (the table is also printed),
                               updated after every run
    ap.png, latency.png        means with std error bars, one point per seed
    loss_curves.png            training loss, one line per seed
    predictions_<model>.png    a few val tiles (first seed): ground truth green, predictions red

No lost work: a run that finished (its run.json is written after evaluation) with the same
config (the config with seed and overrides applied, compared by its dump) is reused, not
retrained, so a stopped run resumes and an added config or seed trains only what is new. A
changed config trains in a new directory and leaves the old runs as they are (going back
reuses them). ``--retrain`` trains every run again. The previous results.json is kept as
``results.previous.json``.

Usage:
    python tools/ablation.py                                   # the three NEON configs, 1 seed
    python tools/ablation.py --seeds 3                         # 3 seeds each
    python tools/ablation.py A.py B.py --baseline A --seeds 5  # any configs
    python tools/ablation.py --max-iters 2 --data-root DIR     # a smoke run
"""
import argparse
import copy
import datetime
import functools
import glob
import hashlib
import json
import os
import os.path as osp
import platform
import shutil
import statistics
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmdet_psroi.plugin  # noqa: F401  (registers R-FCN)
from mmdet_psroi_tools.ablation_report import METRICS, markdown, plot, summarize
from mmdet_psroi_tools.timing import interleaved_rounds

DEFAULT_CONFIGS = [
    'configs/neon_trees/rfcn_psroipool_mobilenetv2_neon-trees.py',
    'configs/neon_trees/rfcn_psroialign_mobilenetv2_neon-trees.py',
    'configs/neon_trees/faster-rcnn_roialign_mobilenetv2_neon-trees.py',
]
COCO_KEYS = {key: f'coco/{key}' for key in METRICS}
RECORD = 'run.json'


def say(message):
    print(f'[ablation] {message}', flush=True)


def model_name(config_path):
    return osp.splitext(osp.basename(config_path))[0]


def config_hash(identity):
    return hashlib.sha256(identity.encode()).hexdigest()


def run_dir(out_dir, name, seed, identity):
    """``<model>/seed_<k>-<config hash>``: a run with another config never overwrites it."""
    return osp.join(out_dir, name, f'seed_{seed}-{config_hash(identity)[:8]}')


def load_config(path, seed, out_dir, args):
    """The config of one run, and the text that identifies it (its dump before the output
    paths are set, so a moved work dir is still reused)."""
    cfg = Config.fromfile(path)
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
    cfg.randomness = dict(cfg.get('randomness', {}), seed=seed)
    identity = cfg.pretty_text
    # Evaluated once, by runner.test() after training: no validation loop at the last iteration.
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    name = model_name(path)
    cfg.work_dir = run_dir(out_dir, name, seed, identity)
    cfg.experiment_name = f'{name}_seed{seed}'
    cfg.visualizer.name = f'visualizer_{name}_seed{seed}'
    return cfg, identity


def finished_record(work_dir, identity):
    """The record of the finished run in ``work_dir`` with this config, or (None, why not)."""
    path = osp.join(work_dir, RECORD)
    if not osp.isfile(path):
        others = sorted(glob.glob(osp.join(osp.dirname(work_dir),
                                           osp.basename(work_dir).split('-')[0] + '-*',
                                           RECORD)))
        if others:
            return None, ('the finished runs of this seed have other configs (kept: '
                          + ', '.join(osp.dirname(o) for o in others) + ')')
        return None, 'no finished run'
    with open(path) as f:
        record = json.load(f)
    if record.get('config_sha256') != config_hash(identity):
        return None, f'{path} belongs to another config'
    if not osp.isfile(osp.join(work_dir, record['checkpoint'])):
        return None, f'its checkpoint {record["checkpoint"]} is missing'
    return record, None


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


def train_and_evaluate(cfg):
    """Train with mmengine's runner and evaluate: (train seconds, metrics, checkpoint file)."""
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    runner.train()
    train_s = time.perf_counter() - start
    say(f'evaluating {cfg.experiment_name}')
    metrics = runner.test()
    with open(osp.join(cfg.work_dir, 'last_checkpoint')) as f:
        return train_s, metrics, osp.basename(f.read().strip())


def train_run(cfg, identity, path, seed):
    """Train and evaluate one run; writes its config.py and, last, its run.json."""
    name = model_name(path)
    say(f'training {name} seed {seed} for {cfg.train_cfg.max_iters} iterations')
    train_s, metrics, checkpoint = train_and_evaluate(cfg)
    record = dict(model=name, config=path, seed=seed, checkpoint=checkpoint,
                  config_sha256=config_hash(identity), train_seconds=train_s,
                  threads=torch.get_num_threads(), torch=torch.__version__,
                  finished=datetime.datetime.now().isoformat(timespec='seconds'),
                  loss_curve=loss_curve(cfg.work_dir),
                  **{key: float(metrics[coco]) for key, coco in COCO_KEYS.items()})
    with open(osp.join(cfg.work_dir, 'config.py'), 'w') as f:
        f.write(identity)
    partial = osp.join(cfg.work_dir, RECORD + '.part')
    with open(partial, 'w') as f:
        json.dump(record, f, indent=2)
    os.replace(partial, osp.join(cfg.work_dir, RECORD))
    return record


def load_trained(cfg, record):
    """The trained model of a run (eval mode) and its val dataloader."""
    from mmdet.apis import init_detector

    model = init_detector(copy.deepcopy(cfg), osp.join(cfg.work_dir, record['checkpoint']),
                          device='cpu')
    return model, Runner.build_dataloader(cfg.test_dataloader)


def inference_seconds(model, dataloader, warmup=2):
    """Seconds per val image (batch 1) of one pass, the first ``warmup`` images left out."""
    model.eval()
    times = []
    with torch.no_grad():
        for index, data in enumerate(dataloader):
            start = time.perf_counter()
            model.test_step(data)
            if index >= warmup:
                times.append(time.perf_counter() - start)
    if not times:
        raise RuntimeError(f'not enough val images to time inference (more than {warmup} '
                           'are needed)')
    return times


def time_interleaved(trained, rounds):
    """Per (model, dataloader): in each of ``rounds`` interleaved rounds, the median ms per
    image of one pass over its val split."""
    passes = {index: functools.partial(inference_seconds, model, dataloader)
              for index, (model, dataloader) in enumerate(trained)}
    times = interleaved_rounds(
        passes, rounds, warmup=0, measure=lambda one_pass: statistics.median(one_pass()),
        on_round=lambda index, total: say(f'timing inference, round {index}/{total}'))
    return [[seconds * 1e3 for seconds in times[index].values] for index in passes]


def draw_predictions(model, dataloader, name, out_dir, count, score_thr=0.3):
    """A row of val tiles with ground truth (green) and predictions (red)."""
    import cv2

    model.eval()
    tiles = []
    with torch.no_grad():
        for index, data in enumerate(dataloader):
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


def cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment():
    return dict(torch=torch.__version__, threads=torch.get_num_threads(), cpu=cpu_name(),
                logical_cpus=os.cpu_count())


def write_results(runs, models, baseline, out_dir):
    """results.json (every run, every statistic), results.md and the plots; the summary."""
    summaries = summarize(runs, models, baseline)
    env = environment()
    public_runs = [{k: v for k, v in r.items() if k != 'config_sha256'} for r in runs]
    with open(osp.join(out_dir, 'results.json'), 'w') as f:
        json.dump(dict(**env, seeds=sorted({r['seed'] for r in runs}), baseline=baseline,
                       models=summaries, runs=public_runs), f, indent=2)
    with open(osp.join(out_dir, 'results.md'), 'w') as f:
        f.write(markdown(summaries, runs, baseline, env))
    plot(summaries, runs, out_dir, env)
    return summaries, env


def collect_runs(configs, seeds, out_dir, args):
    """Train (or reuse) every (seed, config) run, seeds outer; the records, each with its
    config, in that order. Results are rewritten after every run."""
    models = [model_name(path) for path in configs]
    plan = [(seed, path) for seed in range(seeds) for path in configs]
    runs = []
    for index, (seed, path) in enumerate(plan, start=1):
        cfg, identity = load_config(path, seed, out_dir, args)
        name = model_name(path)
        say(f'run {index}/{len(plan)}: {name} seed {seed} ({path})')
        record, why = ((None, '--retrain') if args.retrain
                       else finished_record(cfg.work_dir, identity))
        if record is not None:
            say(f'reusing {name} seed {seed}: finished {record["finished"]} with the same '
                f'config ({cfg.work_dir})')
        else:
            if why != 'no finished run':
                say(f'training {name} seed {seed} again: {why}')
            record = train_run(cfg, identity, path, seed)
        record = dict(record, reused=why is None, work_dir=cfg.work_dir)
        runs.append((record, cfg))
        write_results([r for r, _ in runs], models, args.baseline, out_dir)
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
    models = [model_name(path) for path in args.configs]
    runs = collect_runs(args.configs, args.seeds, out_dir, args)

    say('loading the trained models for timing')
    trained = [load_trained(cfg, record) for record, cfg in runs]
    for (record, _), (model, dataloader) in zip(runs, trained):
        if record['seed'] == 0:
            draw_predictions(model, dataloader, record['model'], out_dir, args.show_images)
    for (record, _), times in zip(runs, time_interleaved(trained, args.timing_rounds)):
        record.update(inference_ms=[round(t, 3) for t in times],
                      inference_ms_median=statistics.median(times),
                      timing_threads=torch.get_num_threads())
    records = [record for record, _ in runs]
    write_results(records, models, args.baseline, out_dir)
    with open(osp.join(out_dir, 'results.md')) as f:
        print('\n' + f.read())
    reused = [f"{r['model']} seed {r['seed']}" for r in records if r['reused']]
    say(f'reused {len(reused)} of {len(records)} finished runs'
        + (f': {", ".join(reused)}' if reused else ''))
    say(f'wrote {out_dir}/results.json, results.md and PNGs')


if __name__ == '__main__':
    main()
