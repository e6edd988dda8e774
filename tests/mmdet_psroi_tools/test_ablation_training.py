"""mmdet_psroi_tools/ablation/training.py: the runner's logged scalars of the newest run, the
loss curve from them, a run's config (seed, overrides, where it lives), and the inference
timing (per model one median ms per image per round, the warm-up images left out). The seed loop
with its reuse of finished runs is tested with tools/ablation.py (tests/tools/test_ablation.py)."""
import json
import os

import pytest

from mmdet_psroi_tools.ablation.training import (
    inference_seconds,
    logged_scalars,
    loss_curve,
    run_config,
    shorten_schedule,
    time_interleaved,
)

NEON_RFCN = 'configs/neon_trees/rfcn_psroipool_mobilenetv2_neon-trees.py'


def log_run(work_dir, timestamp, records):
    folder = os.path.join(work_dir, timestamp, 'vis_data')
    os.makedirs(folder)
    with open(os.path.join(folder, 'scalars.json'), 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in records)


def test_the_newest_runs_scalars_give_the_loss_curve(tmp_path):
    assert logged_scalars(str(tmp_path)) == [] and loss_curve(str(tmp_path)) == []
    log_run(tmp_path, '20260101_000000', [dict(iter=1, loss=9.0)])
    newest = [dict(iter=1, loss=2.0, lr=0.1), dict(iter=2, loss=1.5),
              {'coco/bbox_mAP': 0.3, 'step': 2}]
    log_run(tmp_path, '20260102_000000', newest)
    assert logged_scalars(str(tmp_path)) == newest
    assert loss_curve(str(tmp_path)) == [(1, 2.0), (2, 1.5)]


def test_a_run_config_sets_the_seed_the_overrides_and_its_directory(tmp_path):
    pytest.importorskip('mmdet')
    cfg, identity = run_config(NEON_RFCN, 2, str(tmp_path), data_root='DATA', max_iters=3,
                               cfg_options={'train_dataloader.batch_size': 4})
    assert cfg.randomness.seed == 2 and cfg.train_cfg.max_iters == 3
    assert cfg.train_dataloader.dataset.data_root == 'DATA/'
    assert cfg.test_evaluator.ann_file == 'DATA/annotations/val.json'
    assert cfg.train_dataloader.batch_size == 4 and cfg.val_dataloader is None
    assert os.path.dirname(cfg.work_dir) == str(tmp_path / 'rfcn_psroipool_mobilenetv2_neon-trees')
    assert os.path.basename(cfg.work_dir).startswith('seed_2-')
    assert 'seed=2' in identity and 'DATA/' in identity
    other, _ = run_config(NEON_RFCN, 2, str(tmp_path), data_root='DATA', max_iters=4)
    assert other.work_dir != cfg.work_dir  # another config: another directory


def test_a_shortened_schedule_scales_the_lr_steps_and_keeps_the_warmup():
    pytest.importorskip('mmdet')
    from mmengine.config import Config

    cfg = Config.fromfile(NEON_RFCN)
    old_iters = cfg.train_cfg.max_iters
    warmup, steps = (dict(s) for s in cfg.param_scheduler)
    shorten_schedule(cfg, 20, constant_lr=False)
    assert cfg.train_cfg.max_iters == cfg.train_cfg.val_interval == 20
    assert cfg.default_hooks.checkpoint.interval == 20 and cfg.default_hooks.logger.interval <= 20
    assert cfg.param_scheduler[0].end == warmup['end'] < old_iters  # the warm-up kept
    assert cfg.param_scheduler[1].end == 20
    assert cfg.param_scheduler[1].milestones == [round(m * 20 / old_iters)
                                                 for m in steps['milestones']]
    shorten_schedule(cfg, 5)  # the ablation's: a constant learning rate
    assert [s['type'] for s in cfg.param_scheduler] == ['ConstantLR']


class CountingModel:
    """A model whose test_step records the images it saw (in ``seen``, which models may
    share)."""

    def __init__(self, seen=None):
        self.seen = [] if seen is None else seen

    def eval(self):
        return self

    def test_step(self, data):
        self.seen.append(data)


def test_the_warmup_images_are_not_timed():
    model = CountingModel()
    times = inference_seconds(model, ['a', 'b', 'c', 'd'], warmup=2)
    assert model.seen == ['a', 'b', 'c', 'd'] and len(times) == 2
    assert all(t >= 0 for t in times)


def test_too_few_images_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r'more than 2 are needed'):
        inference_seconds(CountingModel(), ['a', 'b'], warmup=2)


def test_every_model_is_timed_once_per_round_in_turn(capsys):
    seen = []
    models = [(CountingModel(seen), ['1a', '1b', '1c']), (CountingModel(seen), ['2a', '2b', '2c'])]
    times = time_interleaved(models, rounds=2)
    assert len(times) == 2 and all(len(per_model) == 2 for per_model in times)
    assert all(ms >= 0 for per_model in times for ms in per_model)
    # Per round one pass of every model, in turn; no warm-up pass.
    assert seen == ['1a', '1b', '1c', '2a', '2b', '2c'] * 2
    assert 'timing inference, round 2/2' in capsys.readouterr().out
