"""tools/train.py, --resume, tools/test.py with CocoMetric, and a 2-process torchrun, on a tiny
synthetic COCO dataset. The resume and test steps load checkpoints that mmengine saved: they
fail with UnpicklingError on torch >= 2.6 unless the plugin's loading fix is in place."""
import glob
import json
import math
import os
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

import mmdet_psroi.plugin  # noqa: F401  (lets this process read the checkpoints too)
from tests.models.tiny import (
    tiny_experiment_cfg,
    tiny_rfcn_cfg,
    write_coco_dataset,
)
from tests.tools.tool_module import load_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(args, **kwargs):
    result = subprocess.run([sys.executable] + args, cwd=ROOT, capture_output=True, text=True,
                            timeout=600, **kwargs)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture
def experiment(tmp_path):
    ann_file = write_coco_dataset(str(tmp_path / 'data'), num_images=4)
    cfg = tiny_experiment_cfg(str(tmp_path / 'data'), ann_file, max_iters=2)
    path = str(tmp_path / 'tiny_rfcn.py')
    Config(cfg.to_dict()).dump(path)
    return path, tmp_path


def test_train_resume_and_test(experiment):
    config, tmp_path = experiment
    work_dir = str(tmp_path / 'work')
    run(['tools/train.py', config, '--work-dir', work_dir])
    assert os.path.isfile(os.path.join(work_dir, 'iter_2.pth'))

    resumed = run(['tools/train.py', config, '--work-dir', work_dir, '--resume',
                   '--cfg-options', 'train_cfg.max_iters=3'])
    assert 'resumed' in (resumed.stdout + resumed.stderr).lower()
    checkpoint = torch.load(os.path.join(work_dir, 'iter_3.pth'))  # weights_only by default
    assert checkpoint['meta']['iter'] == 3

    results = str(tmp_path / 'results.pkl')
    run(['tools/test.py', config, os.path.join(work_dir, 'iter_3.pth'), '--work-dir', work_dir,
         '--out', results])
    assert os.path.getsize(results) > 0
    (metrics_file, ) = glob.glob(os.path.join(work_dir, '*', '*.json'))
    with open(metrics_file) as f:
        metrics = json.load(f)
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75'):
        assert 0.0 <= metrics[key] <= 1.0


def _train_tool():
    return load_tool('train.py', 'train_tool')


@pytest.mark.parametrize('cuda, wrapper', [(True, 'AmpOptimWrapper'),
                                           (False, 'BF16OptimWrapper')])
def test_amp_is_float16_with_loss_scaling_on_gpus_and_bfloat16_on_the_cpu(
        experiment, monkeypatch, cuda, wrapper):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.optim import build_optim_wrapper

    register_all_modules()
    config, _ = experiment
    train = _train_tool()
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    cfg = train.build_config(train.parse_args([config, '--amp']))
    assert cfg.optim_wrapper.type == wrapper
    assert cfg.optim_wrapper.get('loss_scale') == ('dynamic' if cuda else None)
    assert 'device_type' not in cfg.optim_wrapper  # autocast follows the model's parameters
    if not cuda:  # mmengine's AmpOptimWrapper refuses to be built without a GPU; this one not
        built = build_optim_wrapper(MODELS.build(tiny_rfcn_cfg()), cfg.optim_wrapper)
        assert type(built).__name__ == wrapper


def test_amp_training_on_the_cpu_gives_finite_losses(experiment):
    config, tmp_path = experiment
    work_dir = str(tmp_path / 'amp')
    result = run(['tools/train.py', config, '--work-dir', work_dir, '--amp'])
    assert 'bfloat16 autocast on the CPU' in result.stdout + result.stderr
    (scalars, ) = glob.glob(os.path.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(scalars) as f:
        losses = [entry['loss'] for entry in map(json.loads, f) if 'loss' in entry]
    assert len(losses) == 2 and all(math.isfinite(loss) for loss in losses), losses


def _mmdet_tool(name):
    import mmdet

    return os.path.join(os.path.dirname(mmdet.__file__), '.mim', 'tools', name)


@pytest.mark.slow
def test_cpu_amp_work_dir_config_resumes_with_mmdets_own_train_py(experiment):
    """The config an ``--amp`` run on the CPU saves names BF16OptimWrapper; mmdet's own
    tools/train.py resumes from it (its custom_imports register the wrapper)."""
    config, tmp_path = experiment
    work_dir = str(tmp_path / 'amp')
    run(['tools/train.py', config, '--work-dir', work_dir, '--amp',
         '--cfg-options', 'train_cfg.max_iters=1'])
    saved = os.path.join(work_dir, os.path.basename(config))
    assert Config.fromfile(saved).optim_wrapper.type == 'BF16OptimWrapper'

    resumed = run([_mmdet_tool('train.py'), saved, '--work-dir', work_dir, '--resume',
                   '--cfg-options', 'train_cfg.max_iters=2'])
    assert 'resumed' in (resumed.stdout + resumed.stderr).lower()
    checkpoint = torch.load(os.path.join(work_dir, 'iter_2.pth'))
    assert checkpoint['meta']['iter'] == 2
    assert checkpoint['optimizer']['state'], 'the resumed run saved no optimizer state'


def test_tools_refuse_missing_files(experiment):
    config, tmp_path = experiment
    result = subprocess.run([sys.executable, 'tools/test.py', config, str(tmp_path / 'no.pth')],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and 'argument checkpoint: no such file' in result.stderr
    result = subprocess.run([sys.executable, 'tools/train.py', str(tmp_path / 'missing.py')],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and 'argument config: no such file' in result.stderr


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_cpu_training_with_dist_train_sh(experiment):
    config, tmp_path = experiment
    work_dir = str(tmp_path / 'dist')
    env = dict(os.environ, PORT=str(_free_port()), OMP_NUM_THREADS='1',
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    result = subprocess.run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work_dir],
                            cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert os.path.isfile(os.path.join(work_dir, 'iter_2.pth'))
    log = result.stdout + result.stderr
    assert 'Distributed training: True' in log and 'GPU number: 2' in log, log[-3000:]
