"""tools/benchmark_op.py (devices, dtypes, the check against a peer, JSON) and the options of
tools/benchmark_head.py. The head benchmark itself runs in the GPU check's dry run."""
import json

import pytest
import torch

from mmdet_psroi.ops import ps_roi_align, ps_roi_pool
from tests.tools.tool_module import load_tool

benchmark_op = load_tool('benchmark_op.py', 'benchmark_op')


def load_benchmark_head():
    pytest.importorskip('mmdet')
    return load_tool('benchmark_head.py', 'benchmark_head')

DEVICES = ['cpu', pytest.param('cuda', marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason='no CUDA device'))]


def small_case(device, dtype=torch.float32):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2 * 49, 38, 63, generator=generator).to(device, dtype)
    rois = benchmark_op.make_rois(6, generator).to(device, dtype)
    return x, rois


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('op_name, fn, args', [('pool', ps_roi_pool, (7, 1 / 16)),
                                               ('align', ps_roi_align, (7, 1 / 16, 2))])
def test_check_agrees_with_the_same_op_and_catches_a_wrong_one(device, op_name, fn, args):
    x, rois = small_case(device)
    right = benchmark_op.check_case(op_name, 'ours', fn, x, rois, args)
    assert [r['ok'] for r in right] == [True, True]
    wrong = benchmark_op.check_case(op_name, 'ours', lambda *a: fn(*a) * 1.01, x, rois, args)
    assert [r['ok'] for r in wrong] == [False, False]


def test_check_skips_torchvisions_differing_cpu_pool_forward():
    x, rois = small_case('cpu')
    results = benchmark_op.check_case('pool', 'torchvision', ps_roi_pool, x, rois, (7, 1 / 16))
    assert [r['phase'] for r in results if 'skipped' in r] == ['forward']


@pytest.mark.parametrize('device', DEVICES)
def test_benchmark_writes_rows_and_checks_for_each_dtype(tmp_path, device, capsys):
    path = tmp_path / 'bench.json'
    status = benchmark_op.main(['--device', device, '--dtype', 'float32', 'float16',
                                '--classes', '21', '--rois', '3', '--threads', '1',
                                '--rounds', '1', '--reps', '1', '--peers', 'ours', '--check',
                                '--self-check', '--json', str(path)])
    assert status == 0
    data = json.loads(path.read_text())
    assert data['device'] == device and data['dtypes'] == ['float32', 'float16']
    assert len(data['rows']) == 2 * 2 * 2  # ops x dtypes x phases
    assert {r['dtype'] for r in data['rows']} == {'float32', 'float16'}
    assert all(r['floor_ms'] > 0 and r['speedup'] > 0 for r in data['rows'])
    assert all(c['ok'] for c in data['checks'])
    deform = data['deform_rows']  # deformable PS RoI pooling against our ps_roi_align
    assert [(r['op'], r['rois'], r['phase']) for r in deform] == [
        ('deform', 3, 'forward'), ('deform', 3, 'backward')]
    assert all(r['ours_ms'] > 0 and r['peer_ms'] > 0 for r in deform)
    assert data['self_check_peer'] == 'ours' and data['self_check_ratio'] > 0
    out = capsys.readouterr().out
    assert '| dtype | phase |' in out and 'check: 8/8 output/gradient comparisons agree' in out


def test_a_mismatch_exits_non_zero_naming_the_case(capsys):
    checks = [dict(op='align', classes=21, rois=300, dtype='float16', peer='torchvision',
                   phase='backward', max_error=0.5, tolerance=1e-2, ok=False)]
    assert benchmark_op.report_checks(checks) == 1
    assert 'MISMATCH: align backward classes=21 rois=300 float16 vs torchvision' in \
        capsys.readouterr().err


def test_cpu_float32_table_keeps_its_layout():
    table = benchmark_op.Table(torch.device('cpu'), ['float32'])
    assert table.header().splitlines()[0] == (
        '| op | classes | RoIs | threads | phase | peer | ours ms | peer ms | speed-up | '
        'memory floor ms | ours / floor |')


@pytest.mark.parametrize('argv, message', [
    (['--peers', 'mmcv', '--check'], "--check compares with torchvision (or 'ours')"),
    (['--device', 'tpu'], '--device'),
    (['--rounds', '0'], '--rounds must be >= 1'),
    (['--classes', '0'], '--threads, --rois and --classes take positive integers'),
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
    (['--image-size', '0', '64'], '--image-size take positive integers'),
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
