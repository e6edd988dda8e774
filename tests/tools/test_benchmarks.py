"""tools/benchmark_op.py (devices, dtypes, JSON) and the options of tools/benchmark_head.py
(mmdet_psroi_tools/head_benchmark.py).
The head benchmark itself runs in the GPU check's dry run; the agreement of our op with
torchvision's is tests/ops/test_torchvision_parity.py's."""
import importlib
import json

import pytest
import torch

from tests.tools.tool_module import load_tool

benchmark_op = load_tool('benchmark_op.py', 'benchmark_op')


def load_benchmark_head():
    pytest.importorskip('mmdet')
    return importlib.import_module('mmdet_psroi_tools.head_benchmark')

DEVICES = ['cpu', pytest.param('cuda', marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason='no CUDA device'))]


@pytest.mark.parametrize('device', DEVICES)
def test_benchmark_writes_rows_for_each_dtype(tmp_path, device, capsys):
    path = tmp_path / 'bench.json'
    status = benchmark_op.main(['--device', device, '--dtype', 'float32', 'float16',
                                '--classes', '21', '--rois', '3', '--threads', '1',
                                '--rounds', '1', '--reps', '1', '--peers', 'ours', '--self-check',
                                '--json', str(path)])
    assert status == 0
    data = json.loads(path.read_text())
    assert data['device'] == device and data['dtypes'] == ['float32', 'float16']
    assert len(data['rows']) == 2 * 2 * 2  # ops x dtypes x phases
    assert {r['dtype'] for r in data['rows']} == {'float32', 'float16'}
    assert all(r['floor_ms'] > 0 and r['speedup'] > 0 for r in data['rows'])
    deform = data['deform_rows']  # deformable PS RoI pooling against our ps_roi_align
    assert [(r['op'], r['rois'], r['phase']) for r in deform] == [
        ('deform', 3, 'forward'), ('deform', 3, 'backward')]
    assert all(r['ours_ms'] > 0 and r['peer_ms'] > 0 for r in deform)
    assert data['self_check_peer'] == 'ours' and data['self_check_ratio'] > 0
    out = capsys.readouterr().out
    assert '| dtype | phase |' in out


def test_cpu_float32_table_keeps_its_layout():
    _, header = benchmark_op.table_header(torch.device('cpu'), ['float32'])
    assert header.splitlines()[0] == (
        '| op | classes | RoIs | threads | phase | peer | ours ms | peer ms | speed-up | '
        'memory floor ms | ours / floor |')


@pytest.mark.parametrize('argv, message', [
    (['--device', 'tpu'], '--device'),
    (['--rounds', '0'], 'argument --rounds: must be >= 1, got 0'),
    (['--classes', '0'], 'argument --classes: must be >= 1, got 0'),
    (['--threads', '2', '0'], 'argument --threads: must be >= 1, got 0'),
])
def test_benchmark_op_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        benchmark_op.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason='a CUDA device is present')
@pytest.mark.parametrize('module', ['benchmark_op', 'benchmark_head'])
def test_cuda_without_a_gpu_is_refused(module, capsys):
    parse_args = (benchmark_op if module == 'benchmark_op' else load_benchmark_head()).parse_args
    with pytest.raises(SystemExit):
        parse_args(['--device', 'cuda'])
    assert 'sees no CUDA device' in capsys.readouterr().err


@pytest.mark.parametrize('argv, message', [
    (['--amp', 'sometimes'], "argument --amp: invalid choice: 'sometimes'"),
    (['--image-size', '0', '64'], 'argument --image-size: must be >= 1, got 0'),
    (['--rounds', '0'], 'argument --rounds: must be >= 1, got 0'),
    (['--rois', '7000'], '--rois takes at most 6000'),
    (['--amp', 'both'], '--amp both needs --device cuda'),
])
def test_benchmark_head_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        load_benchmark_head().parse_args(argv)
    assert message in capsys.readouterr().err


def test_benchmark_head_defaults_are_the_cpu_benchmark():
    args = load_benchmark_head().parse_args([])
    assert (args.device.type, args.amp, tuple(args.image_size)) == ('cpu', 'off', (600, 1000))
    assert args.rois == [300, 1000, 2000]
