"""tools/gpu_check.sh: its CPU dry run end to end (the same steps and outputs as on a GPU, tiny
sizes), a failing step named in the exit and the outputs, and clear errors for bad arguments;
its report (mmdet_psroi_tools/gpu_check_report.py): JUnit counts, the target, the markdown."""
import json
import os
import subprocess
import sys

import pytest
import torch

from mmdet_psroi_tools.gpu_check_report import junit_counts, markdown, targets
from tests.tools.tool_module import ROOT, load_tool

gpu_check = load_tool('gpu_check.py', 'gpu_check')

ROW_KEYS = {'op', 'classes', 'rois', 'threads', 'dtype', 'phase', 'peer', 'ours_ms', 'peer_ms',
            'speedup', 'floor_ms', 'ours_over_floor'}


def run_check(*args, env=None):
    return subprocess.run(['bash', 'tools/gpu_check.sh', *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, 'PYTHON': sys.executable, **(env or {})})


def read_report(out_dir):
    with open(out_dir / 'gpu_check.json') as f:
        report = json.load(f)
    with open(out_dir / 'gpu_check.md') as f:
        return report, f.read()


@pytest.fixture(scope='module')
def dry_run(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp('gpu_check')
    result = run_check('--dry-run', out_dir)
    return result, out_dir


@pytest.mark.slow
def test_dry_run_passes_every_step_and_writes_both_reports(dry_run):
    result, out_dir = dry_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert 'PASSED' in result.stdout
    report, md = read_report(out_dir)
    assert set(report) == set(gpu_check.REPORT_KEYS)
    assert report['dry_run'] is True and report['ok'] is True and report['failed_step'] is None
    assert [s['name'] for s in report['steps']] == list(gpu_check.STEPS)
    assert all(s['status'] in ('ok', 'skipped') for s in report['steps']), report['steps']
    assert report['op_tests']['ran'] is False and report['op_tests']['collected'] > 0
    assert md.startswith('# GPU check (DRY RUN')
    assert 'Result: **passed**' in md
    # Built and loaded out of tree: the checkout's in-place build is not this python's to touch.
    build = next(s for s in report['steps'] if s['name'] == 'build')
    assert f'build/gpu_check/torch-{torch.__version__}/lib/' in build['detail']


@pytest.mark.slow
def test_dry_run_benchmarks_every_case_and_checks_against_the_peer(dry_run):
    _, out_dir = dry_run
    report, md = read_report(out_dir)
    bench = report['op_benchmark']
    assert bench['device'] == 'cpu'
    rows = bench['rows']
    assert len(rows) == 32 and all(set(r) == ROW_KEYS for r in rows)
    cases = {(r['op'], r['classes'], r['rois'], r['dtype'], r['phase']) for r in rows}
    assert len(cases) == 32  # 2 ops x 2 class counts x 2 RoI counts x 2 dtypes x 2 phases
    assert all(r['ours_ms'] > 0 and r['peer_ms'] > 0 and r['floor_ms'] > 0 for r in rows)
    assert bench['self_check_ratio'] > 0
    target = report['targets']['ours_at_least_as_fast']
    assert target['rows'] == 32 and target['met'] == (not target['missed'])
    peer = {'ours': 'our op again'}.get(bench['peers'][0], bench['peers'][0])
    assert f'| op | classes | RoIs | dtype | phase | ours ms | {peer} ms |' in md
    head = report['head_benchmark']
    if 'skipped' in head:  # no mmcv/mmdet in this environment
        assert 'Skipped: ' in md
    else:  # both phases and parts; AMP only on a GPU
        assert {(r['phase'], r['part'], r['amp']) for r in head['rows']} == {
            (phase, part, False) for phase in ('inference', 'training step')
            for part in ('whole model', 'RoI head')}
        assert '| RoIs | phase | part | AMP |' in md


HEAD_RAN = ('ok', 'skipped')  # the head benchmark runs where mmcv and mmdet import


@pytest.mark.parametrize('step, statuses', [
    # A failed build stops the check: nothing after it can run.
    ('build', dict(environment='ok', build='failed', **{
        'op-tests': 'not run', 'op-benchmark': 'not run', 'head-benchmark': 'not run',
        'report': 'not run'})),
    # After a failed test step the measurements still run and are reported.
    pytest.param('op-tests', dict(environment='ok', build='ok', report='ok', **{
        'op-tests': 'failed', 'op-benchmark': 'ok', 'head-benchmark': HEAD_RAN}),
        marks=pytest.mark.slow),
])
def test_a_failing_step_is_named_in_the_exit_and_the_outputs(tmp_path, step, statuses):
    result = run_check('--dry-run', tmp_path, env={gpu_check.FAIL_ENV: step})
    assert result.returncode == 1
    assert f'FAILED in step {step}: failure injected' in result.stdout
    report, md = read_report(tmp_path)
    assert report['ok'] is False and report['failed_step'] == step
    got = {s['name']: s['status'] for s in report['steps']}
    assert got.keys() == statuses.keys()
    for name, want in statuses.items():
        assert got[name] in (want if isinstance(want, tuple) else (want,)), name
    assert f'Result: **FAILED** in step `{step}`' in md
    assert bool(report['op_benchmark']) == (got['op-benchmark'] == 'ok')


def test_running_out_of_the_time_budget_fails_the_running_step(tmp_path):
    result = run_check('--dry-run', '--budget-s', '0.2', tmp_path)  # importing torch takes longer
    assert result.returncode == 1
    assert 'FAILED in step environment: stopped at the 0.2 s budget' in result.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is present: the check would run')
def test_without_a_gpu_the_real_check_fails_in_the_environment_step(tmp_path):
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert 'FAILED in step environment' in result.stdout
    assert 'sees no GPU (use --dry-run' in result.stdout


@pytest.mark.parametrize('args, env, message', [
    ((), {}, 'the following arguments are required: OUT_DIR'),
    (('--dry-run', 'OUT', '--budget-s', '0'), {}, '--budget-s takes a positive number'),
    (('--dry-run', 'OUT', '--frobnicate'), {}, 'unrecognized arguments: --frobnicate'),
    (('--dry-run', 'OUT'), {gpu_check.FAIL_ENV: 'bogus'},
     "GPU_CHECK_FAIL_STEP='bogus' names no step; steps: environment, build"),
])
def test_bad_arguments_give_a_clear_message(tmp_path, args, env, message):
    result = run_check(*(str(tmp_path / a) if a == 'OUT' else a for a in args), env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert 'usage: tools/gpu_check.sh' in result.stderr


def test_out_dir_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / 'file'
    path.write_text('')
    result = run_check('--dry-run', path)
    assert result.returncode == 2
    assert 'exists and is not a directory' in result.stderr


def test_missing_python_is_reported(tmp_path):
    result = run_check('--dry-run', tmp_path, env={'PYTHON': str(tmp_path / 'no-python')})
    assert result.returncode == 2
    assert 'not found (set PYTHON)' in result.stderr


def test_pytest_junit_counts_cuda_cases(tmp_path):
    path = tmp_path / 'junit.xml'
    path.write_text(
        '<testsuites><testsuite>'
        '<testcase classname="tests.ops.test_ps_roi" name="test_forward[cuda-float32]"/>'
        '<testcase classname="tests.ops.test_ps_roi" name="test_forward[cpu-float32]"/>'
        '<testcase classname="tests.ops.test_ps_roi" name="test_cuda_stream_is_used"/>'
        '<testcase classname="tests.ops.test_cuda_emulation" name="test_cuda_kernels[0]"/>'
        '<testcase classname="tests.ops.test_ps_roi" name="test_backward[cuda]">'
        '<skipped message="no GPU"/></testcase>'
        '<testcase classname="tests.ops.test_ps_roi" name="test_backward[cpu]">'
        '<failure message="boom"/></testcase>'
        '<testcase classname="tests.ops.test_ps_roi" name="test_other">'
        '<error message="fixture"/></testcase>'
        '</testsuite></testsuites>')
    assert junit_counts(path) == dict(tests=7, passed=4, failed=1, errors=1, skipped=1,
                                      cuda_passed=2)
    assert junit_counts(path, 'test_cuda_emulation') == dict(
        tests=1, passed=1, failed=0, errors=0, skipped=0, cuda_passed=0)


def test_targets_list_every_shape_where_we_are_slower():
    rows = [dict(op='pool', classes=21, rois=300, dtype='float16', phase=phase, speedup=speedup)
            for phase, speedup in (('forward', 1.4), ('backward', 0.9))]
    target = targets(dict(rows=rows))['ours_at_least_as_fast']
    assert target == dict(met=False, rows=2,
                          missed=['pool 21 classes 300 RoIs float16 backward: 0.90x'])


def test_an_op_that_crashes_is_reported_with_the_compiler(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check, 'RAISES_CHECK',
                        'import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)')
    check = gpu_check.GPUCheck(tmp_path, dry_run=True, budget_s=300)
    check.info = dict(cxx='/usr/bin/c++ (gcc (Example) 13.3.0)', torch=torch.__version__)
    with pytest.raises(gpu_check.StepFailed,
                       match=r'crashed \(signal 11\).*\(Example\) 13\.3\.0.*CXX=/usr/bin/g\+\+'):
        check.build()


def test_the_markdown_reports_a_failure_and_steps_not_run():
    report = dict.fromkeys(gpu_check.REPORT_KEYS)
    report.update(dry_run=False, ok=False, failed_step='build', error='nvcc: error', date='D',
                  seconds=1.5, steps=[dict(name='environment', status='ok', seconds=0.5,
                                           detail='fine'),
                                      dict(name='build', status='failed', seconds=1.0,
                                           detail='nvcc: error'),
                                      dict(name='op-tests', status='not run')])
    md = markdown(report)
    assert md.startswith('# GPU check\n') and 'Result: **FAILED** in step `build`: nvcc' in md
    assert '| build | failed | 1.0 | nvcc: error |' in md and '| op-tests | not run |  |  |' in md
    assert '## Op benchmark\n\nnot run' in md
