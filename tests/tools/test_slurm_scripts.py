"""tools/slurm_train.sh and tools/slurm_test.sh, with a stand-in `srun` that prints its
arguments: they launch our train.py / test.py with mmdet's arguments and --launcher=slurm, and
refuse missing files."""
import os
import stat
import subprocess

import pytest

from tests.tools.tool_module import ROOT

CONFIG = 'configs/rfcn/rfcn_r50-c4_1x_coco.py'


@pytest.fixture
def fake_srun(tmp_path):
    srun = tmp_path / 'srun'
    srun.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    return dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}", GPUS='16')


def run(script, args, env):
    return subprocess.run(['bash', os.path.join('tools', script)] + args, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_slurm_train_launches_train_py(fake_srun):
    result = run('slurm_train.sh', ['gpu', 'rfcn', CONFIG, 'work_dirs/x', '--amp'], fake_srun)
    assert result.returncode == 0, result.stderr
    args = result.stdout.split('\n')
    assert args[:2] == ['-p', 'gpu'] and '--ntasks=16' in args and '--gres=gpu:8' in args
    launched = args[args.index('-u') + 1:]
    assert launched[:6] == ['tools/train.py', CONFIG, '--work-dir=work_dirs/x',
                            '--launcher=slurm', '--amp', '']


def test_slurm_test_launches_test_py(fake_srun, tmp_path):
    checkpoint = tmp_path / 'epoch_12.pth'
    checkpoint.write_bytes(b'')
    result = run('slurm_test.sh', ['gpu', 'rfcn', CONFIG, str(checkpoint)], fake_srun)
    assert result.returncode == 0, result.stderr
    args = result.stdout.split('\n')
    assert args[args.index('-u') + 1:][:4] == ['tools/test.py', CONFIG, str(checkpoint),
                                               '--launcher=slurm']


@pytest.mark.parametrize('script, args, message', [
    ('slurm_train.sh', ['gpu', 'rfcn'], 'usage'),
    ('slurm_train.sh', ['gpu', 'rfcn', 'missing.py', 'w'], 'missing.py is not a file'),
    ('slurm_test.sh', ['gpu', 'rfcn', CONFIG, 'missing.pth'], 'missing.pth is not a file'),
])
def test_bad_arguments_are_refused(fake_srun, script, args, message):
    result = run(script, args, fake_srun)
    assert result.returncode == 2 and message in result.stderr
    assert result.stdout == ''
