"""The ablation's runs: their configs, the seed loop that trains what the run cache
(:mod:`.run_cache`) does not hold, and the inference time of the trained models."""
import datetime
import functools
import glob
import json
import os.path as osp
import statistics
import time

import torch

from ..timing import interleaved_rounds
from .report import METRICS
from .run_cache import finished_record, run_dir, save_run


def say(message):
    print(f'[ablation] {message}', flush=True)


def model_name(config_path):
    return osp.splitext(osp.basename(config_path))[0]


def shorten_schedule(cfg, iters, constant_lr=True):
    """Sets ``cfg`` to train ``iters`` iterations, evaluated and saved once at the end, with a
    constant learning rate or (``constant_lr=False``) its steps scaled, the warm-up kept."""
    old_iters = cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = cfg.train_cfg.val_interval = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = min(cfg.default_hooks.logger.interval, iters)
    if constant_lr:
        cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
        return
    for scheduler in cfg.get('param_scheduler') or []:
        if scheduler.get('end', 0) >= old_iters:
            scheduler.end = iters
        if 'milestones' in scheduler:
            scheduler.milestones = [round(m * iters / old_iters) for m in scheduler.milestones]


def run_config(path, seed, out_dir, data_root=None, max_iters=None, cfg_options=None):
    """The config of one run, and the text that identifies it (its dump before the output
    paths are set, so a moved work dir is still reused)."""
    from mmengine.config import Config

    cfg = Config.fromfile(path)
    if data_root:
        root = data_root.rstrip('/') + '/'
        for split in ('train', 'val', 'test'):
            cfg[f'{split}_dataloader'].dataset.data_root = root
        cfg.val_evaluator.ann_file = cfg.test_evaluator.ann_file = root + 'annotations/val.json'
    if max_iters:
        shorten_schedule(cfg, max_iters)
    cfg.merge_from_dict(cfg_options or {})
    cfg.randomness = dict(cfg.get('randomness', {}), seed=seed)
    identity = cfg.pretty_text
    # Evaluated once, by runner.test() after training: no validation loop at the last iteration.
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    name = model_name(path)
    cfg.work_dir = run_dir(out_dir, name, seed, identity)
    cfg.experiment_name = f'{name}_seed{seed}'
    cfg.visualizer.name = f'visualizer_{name}_seed{seed}'
    return cfg, identity


def logged_scalars(work_dir):
    """The records of the runner's scalars.json of the newest run in ``work_dir``, oldest
    first; [] without one."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        return []
    with open(files[-1]) as f:
        return [json.loads(line) for line in f]


def loss_curve(work_dir):
    return [(r['iter'], r['loss']) for r in logged_scalars(work_dir) if 'loss' in r and 'iter' in r]


def train_and_evaluate(cfg):
    """Train with mmengine's runner and evaluate: (train seconds, metrics, checkpoint file)."""
    from mmengine.runner import Runner

    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    runner.train()
    train_s = time.perf_counter() - start
    say(f'evaluating {cfg.experiment_name}')
    metrics = runner.test()
    with open(osp.join(cfg.work_dir, 'last_checkpoint')) as f:
        return train_s, metrics, osp.basename(f.read().strip())


def train_or_reuse(configs, seeds, out_dir, retrain=False, **overrides):
    """Yields the record of every (seed, config) run, seeds outer: the cached run with the
    same config (unless ``retrain``), else one trained now. ``overrides``: :func:`run_config`'s."""
    plan = [(seed, path) for seed in range(seeds) for path in configs]
    for index, (seed, path) in enumerate(plan, start=1):
        cfg, identity = run_config(path, seed, out_dir, **overrides)
        run = f'{model_name(path)} seed {seed}'
        say(f'run {index}/{len(plan)}: {run} ({path})')
        record, why = (None, '--retrain') if retrain else finished_record(cfg.work_dir, identity)
        if record is not None:
            say(f'reusing {run}: finished {record["finished"]} with the same config '
                f'({cfg.work_dir})')
        else:
            if why != 'no finished run':
                say(f'training {run} again: {why}')
            say(f'training {run} for {cfg.train_cfg.max_iters} iterations')
            train_s, metrics, checkpoint = train_and_evaluate(cfg)
            record = save_run(cfg.work_dir, identity, dict(
                model=model_name(path), config=path, seed=seed, checkpoint=checkpoint,
                train_seconds=train_s, threads=torch.get_num_threads(), torch=torch.__version__,
                finished=datetime.datetime.now().isoformat(timespec='seconds'),
                loss_curve=loss_curve(cfg.work_dir),
                **{key: float(metrics[f'coco/{key}']) for key in METRICS}))
        yield dict(record, reused=why is None, work_dir=cfg.work_dir)


def inference_seconds(model, dataloader, warmup=2):
    """Seconds per image (batch 1) of one pass, the first ``warmup`` images left out."""
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
    """Per (model, dataloader): per round the median ms per image of a pass. A round times
    every model in turn, so a change in the machine's speed hits all alike."""
    times = interleaved_rounds(
        {index: functools.partial(inference_seconds, *pair) for index, pair in enumerate(trained)},
        rounds, warmup=0, measure=lambda one_pass: statistics.median(one_pass()),
        on_round=lambda index, total: say(f'timing inference, round {index}/{total}'))
    return [[seconds * 1e3 for seconds in per_model.values] for per_model in times.values()]
