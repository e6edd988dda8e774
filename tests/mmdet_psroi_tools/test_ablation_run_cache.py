"""mmdet_psroi_tools/ablation/run_cache.py: one directory per (model, seed, config), and a run
reused only when its record says it finished with the same config and its checkpoint is
there."""
import json
import os

from mmdet_psroi_tools.ablation.run_cache import (
    RECORD,
    config_hash,
    finished_record,
    run_dir,
    save_run,
)


def finish(out_dir, identity, seed=0):
    work_dir = run_dir(str(out_dir), 'model', seed, identity)
    os.makedirs(work_dir)
    open(os.path.join(work_dir, 'iter_2.pth'), 'w').close()
    return work_dir, save_run(work_dir, identity, dict(seed=seed, checkpoint='iter_2.pth'))


def test_a_run_dir_names_the_model_the_seed_and_the_config(tmp_path):
    path = run_dir(str(tmp_path), 'model', 3, 'cfg A')
    assert path == str(tmp_path / 'model' / f"seed_3-{config_hash('cfg A')[:8]}")
    assert run_dir(str(tmp_path), 'model', 3, 'cfg B') != path


def test_a_saved_run_is_reused_with_the_same_config_only(tmp_path):
    work_dir, saved = finish(tmp_path, 'cfg A')
    with open(os.path.join(work_dir, 'config.py')) as f:
        assert f.read() == 'cfg A'
    assert not os.path.exists(os.path.join(work_dir, RECORD + '.part'))
    record, why = finished_record(work_dir, 'cfg A')
    assert why is None and record == saved and record['config_sha256'] == config_hash('cfg A')
    assert finished_record(work_dir, 'cfg B') == (None, f'{work_dir}/{RECORD} belongs to '
                                                        'another config')


def test_why_a_run_is_not_reused(tmp_path):
    other_dir, _ = finish(tmp_path, 'cfg A')
    new_dir = run_dir(str(tmp_path), 'model', 0, 'cfg B')
    assert finished_record(new_dir, 'cfg B') == (
        None, f'the finished runs of this seed have other configs (kept: {other_dir})')
    assert finished_record(run_dir(str(tmp_path), 'model', 1, 'cfg A'), 'cfg A') == (
        None, 'no finished run')
    os.remove(os.path.join(other_dir, 'iter_2.pth'))
    assert finished_record(other_dir, 'cfg A') == (None, 'its checkpoint iter_2.pth is missing')
    with open(os.path.join(other_dir, RECORD)) as f:
        assert json.load(f)['checkpoint'] == 'iter_2.pth'
