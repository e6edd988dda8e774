"""The ablation's run cache: a run in ``<out_dir>/<model>/seed_<k>-<config hash>/`` finished
when its record (``run.json``: results, checkpoint, the config's hash), written last, is there."""
import glob
import hashlib
import json
import os.path as osp

from ..outputs import write_json

RECORD = 'run.json'


def config_hash(identity):
    return hashlib.sha256(identity.encode()).hexdigest()


def run_dir(out_dir, name, seed, identity):
    return osp.join(out_dir, name, f'seed_{seed}-{config_hash(identity)[:8]}')


def finished_record(work_dir, identity):
    """The record of the finished run in ``work_dir`` with this config, or (None, why not)."""
    path = osp.join(work_dir, RECORD)
    if not osp.isfile(path):
        seed_dirs = osp.join(osp.dirname(work_dir), osp.basename(work_dir).split('-')[0] + '-*')
        others = sorted(osp.dirname(p) for p in glob.glob(osp.join(seed_dirs, RECORD)))
        if others:
            return None, ('the finished runs of this seed have other configs (kept: '
                          f'{", ".join(others)})')
        return None, 'no finished run'
    with open(path) as f:
        record = json.load(f)
    if record.get('config_sha256') != config_hash(identity):
        return None, f'{path} belongs to another config'
    if not osp.isfile(osp.join(work_dir, record['checkpoint'])):
        return None, f'its checkpoint {record["checkpoint"]} is missing'
    return record, None


def save_run(work_dir, identity, record):
    """Writes the run's config.py, then its record with the config's hash; the record."""
    record = dict(record, config_sha256=config_hash(identity))
    with open(osp.join(work_dir, 'config.py'), 'w') as f:
        f.write(identity)
    write_json(osp.join(work_dir, RECORD), record)
    return record


def finished_runs(model_dir):
    """``{seed: run dir}`` of the finished runs in ``model_dir``; ValueError for none, or two
    of one seed (two configs)."""
    runs = {}
    for record_path in sorted(glob.glob(osp.join(model_dir, 'seed_*', RECORD))):
        with open(record_path) as f:
            seed = json.load(f)['seed']
        if seed in runs:
            raise ValueError(f'{model_dir} holds two finished runs of seed {seed} ({runs[seed]} '
                             f'and {osp.dirname(record_path)}), trained with different '
                             'configs: move one away')
        runs[seed] = osp.dirname(record_path)
    if not runs:
        raise ValueError(f'{model_dir} holds no finished run (seed_<k>-<hash>/{RECORD}, as '
                         'tools/ablation.py writes them)')
    return dict(sorted(runs.items()))


def load_run(work_dir, cfg_options=None):
    """A finished run's model (eval mode, CPU), test dataloader, record and config
    (``cfg_options`` merged: e.g. other test-time settings)."""
    from mmdet.apis import init_detector
    from mmengine.config import Config
    from mmengine.runner import Runner

    with open(osp.join(work_dir, RECORD)) as f:
        record = json.load(f)
    cfg = Config.fromfile(osp.join(work_dir, 'config.py'))  # imports its custom_imports
    cfg.merge_from_dict(cfg_options or {})
    model = init_detector(cfg, osp.join(work_dir, record['checkpoint']), device='cpu').eval()
    return model, Runner.build_dataloader(cfg.test_dataloader), record, cfg
