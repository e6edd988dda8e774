"""The GPU check (run it with ``tools/gpu_check.sh OUT_DIR`` or ``make gpu-check``).

For a CUDA machine with python3, torch, torchvision and nvcc and nothing of this project
installed. Steps, each named in the outputs and, when it fails, in the error (exit status 1;
a failed environment or build step stops the check, after any other the remaining steps still
run so that one run reports everything):

  environment     versions, the GPU and its driver, nvcc, torchvision, pytest, setuptools
  build           the op compiled out of tree (build/gpu_check/) for this GPU's architecture
                  only (FORCE_CUDA=1), then loaded by every later step
  op-tests        python -m pytest tests/ops: their CUDA cases run on this GPU (in parallel
                  workers where pytest-xdist imports: a test that crashes its process is
                  then reported by name, and the others still run)
  op-benchmark    tools/benchmark_op.py --device cuda against torchvision's CUDA kernels,
                  after comparing our outputs and gradients with torchvision's (--check)
  head-benchmark  tools/benchmark_head.py --device cuda (R-FCN vs Faster R-CNN C4), where mmcv
                  with CUDA ops and mmdet import; otherwise skipped, with the reason
  report          gpu_check.json and gpu_check.md in OUT_DIR (with gpu_check.log, every
                  step's output, and the benchmarks' own JSON files)

``--dry-run`` runs the same steps without a GPU: the op built for the CPU, the op tests
collected but not run, both benchmarks on the CPU with a handful of RoIs (the op benchmark
against torchvision where it imports, else against our op itself); the outputs have the
same keys and say ``"dry_run": true``. ``GPU_CHECK_FAIL_STEP=<step>`` makes that step fail, to
see a failure reported. The whole check must end within ``--budget-s`` seconds (8 minutes).
"""
import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = ('environment', 'build', 'op-tests', 'op-benchmark', 'head-benchmark', 'report')
# A failure in one of these stops the check; after a failure in a later step the remaining
# steps still run, so one run reports everything (the exit status and verdict stay failed).
PREREQUISITES = ('environment', 'build')
XDIST_WORKERS = 16  # pytest-xdist processes for the op tests on the GPU, at most
FAIL_ENV = 'GPU_CHECK_FAIL_STEP'
BUDGET_S = 480
SELF_CHECK_RANGE = (0.5, 2.0)  # torchvision timed against itself: outside, timing is broken
REPORT_KEYS = ('schema', 'dry_run', 'ok', 'failed_step', 'error', 'date', 'seconds',
               'environment', 'steps', 'op_tests', 'op_benchmark', 'head_benchmark', 'targets')
# Sizes: the GPU check's, and the dry run's (tiny, CPU).
OP_BENCHMARK = dict(rois=['300', '2000'], rounds='7', reps='10')
OP_BENCHMARK_DRY = dict(rois=['4', '8'], rounds='1', reps='1')
HEAD_BENCHMARK = ['--rois', '300', '2000', '--rounds', '3', '--amp', 'both']
HEAD_BENCHMARK_DRY = ['--rois', '8', '--rounds', '1', '--image-size', '64', '64']  # no CPU AMP
_BUILD_REASON = ("the nvcc build for sm_75/80/90 is `make test-cuda`'s; here the build step "
                 'built for this GPU')
_EMULATION_REASON = ("the CPU's stand-in for the CUDA kernels (run by `make test`); here they run "
                     'on the GPU itself')
IGNORED_TESTS = {  # on the GPU (the dry run collects every op test)
    'tests/ops/test_cuda_build.py': _BUILD_REASON,
    'tests/ops/test_cuda_build_deform.py': _BUILD_REASON,
    'tests/ops/test_cuda_emulation.py': _EMULATION_REASON,
    'tests/ops/test_cuda_emulation_deform.py': _EMULATION_REASON,
}
NOT_ON_THE_GPU = tuple(Path(path).stem for path in IGNORED_TESTS)  # 'cuda' in their names

# Programs run with the target python (tools/gpu_check_probes/).
PROBES = ROOT / 'tools' / 'gpu_check_probes'
ENVIRONMENT_PROBE = PROBES / 'gpu_environment.py'
OP_PROBE = PROBES / 'op_on_device.py'
HEAD_PROBE = PROBES / 'mmcv_mmdet.py'


class StepFailed(Exception):
    """A step's failure, with the message that the outputs and the exit carry (and the exit
    status of the process that failed, where one did)."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def find_cuda_home():
    """The CUDA toolkit folder (holding bin/nvcc): CUDA_HOME or CUDA_PATH, nvcc's on PATH,
    /usr/local/cuda. One whose include/ holds cuda_runtime.h is preferred; the others need
    the CUDA headers of pip-installed toolkits (see build_env)."""
    candidates = [os.environ.get('CUDA_HOME'), os.environ.get('CUDA_PATH')]
    nvcc = shutil.which('nvcc')
    if nvcc:
        candidates.append(str(Path(nvcc).resolve().parents[1]))
    candidates.append('/usr/local/cuda')
    found = [c for c in candidates if c and os.access(os.path.join(c, 'bin', 'nvcc'), os.X_OK)]
    with_headers = [c for c in found
                    if os.path.isfile(os.path.join(c, 'include', 'cuda_runtime.h'))]
    return (with_headers or found or [None])[0]


def nvcc_version(cuda_home):
    out = subprocess.run([os.path.join(cuda_home, 'bin', 'nvcc'), '--version'],
                         capture_output=True, text=True).stdout
    return next((line.split('release')[-1].strip() for line in out.splitlines()
                 if 'release' in line), out.strip() or 'unknown')


def compiler_version():
    """The C++ compiler torch's extension builds call (CXX, else c++): its path and version."""
    name = os.environ.get('CXX', 'c++')
    path = shutil.which(name)
    if not path:
        return f'{name} (not found)'
    out = subprocess.run([path, '--version'], capture_output=True, text=True).stdout
    return f"{path}: {(out.splitlines() or ['unknown version'])[0]}"


def driver_version():
    if shutil.which('nvidia-smi'):
        out = subprocess.run(['nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'],
                             capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.splitlines()[0].strip()
    try:
        with open('/proc/driver/nvidia/version') as f:
            return f.readline().split('Kernel Module')[-1].split()[0]
    except (OSError, IndexError):
        return 'unknown (no nvidia-smi, no /proc/driver/nvidia/version)'


def parse_junit(path):
    """Counts of a pytest junit XML file, and of passed CUDA cases: tests named or
    parametrized with 'cuda', outside the modules that only compile or emulate the kernels."""
    counts = dict(tests=0, passed=0, failed=0, errors=0, skipped=0, cuda_passed=0)
    for case in ElementTree.parse(path).iter('testcase'):
        counts['tests'] += 1
        outcome = next((child.tag for child in case
                        if child.tag in ('failure', 'error', 'skipped')), 'passed')
        counts[{'failure': 'failed', 'error': 'errors'}.get(outcome, outcome)] += 1
        on_cpu = any(m in case.get('classname', '') for m in NOT_ON_THE_GPU)
        if outcome == 'passed' and 'cuda' in case.get('name', '').lower() and not on_cpu:
            counts['cuda_passed'] += 1
    return counts


class GPUCheck:
    def __init__(self, out_dir, dry_run, budget_s):
        self.out, self.dry, self.budget_s = out_dir, dry_run, budget_s
        self.python = sys.executable
        self.start = time.monotonic()
        self.log = open(out_dir / 'gpu_check.log', 'w')
        self.report = dict.fromkeys(REPORT_KEYS)
        self.report.update(schema=1, dry_run=dry_run, ok=False, steps=[],
                           date=datetime.datetime.now(datetime.timezone.utc).isoformat(
                               timespec='seconds'))
        self.env = self.base_env()
        self.info = {}

    def base_env(self):
        """This python's bin folder first on PATH (its ninja, for torch's builds), the
        checkout on PYTHONPATH, and no MMDET_PSROI_LIBRARY until the build step sets its own."""
        env = {k: v for k, v in os.environ.items() if k != 'MMDET_PSROI_LIBRARY'}
        env['PATH'] = os.pathsep.join([os.path.dirname(self.python), env.get('PATH', '')])
        env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(ROOT), env.get('PYTHONPATH')]))
        env['PYTHONUNBUFFERED'] = '1'
        return env

    def say(self, message):
        line = f'[gpu-check] {message}'
        print(line, flush=True)
        self.log.write(line + '\n')
        self.log.flush()

    def remaining_s(self):
        return self.budget_s - (time.monotonic() - self.start)

    def run(self, cmd, env=None, label=None):
        """Runs cmd in the checkout, echoing and logging its output; (status, output).
        Killed when the check's time budget runs out."""
        if self.remaining_s() <= 0:
            raise StepFailed(f'the {self.budget_s:g} s budget of the whole check is spent')
        self.say('$ ' + (label or ' '.join(str(c) for c in cmd)))
        # A process group of its own, so that the compilers a build spawns stop with it.
        proc = subprocess.Popen([str(c) for c in cmd], cwd=ROOT, env=env or self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)

        def stop():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # already ended
                pass

        timer = threading.Timer(self.remaining_s(), stop)
        timer.start()
        lines = []
        try:
            for line in proc.stdout:
                sys.stdout.write(line)
                self.log.write(line)
                lines.append(line)
            status = proc.wait()
        except BaseException:  # Ctrl-C included: no compiler left running
            stop()
            raise
        finally:
            timer.cancel()
        if self.remaining_s() <= 0:
            raise StepFailed(f'stopped at the {self.budget_s:g} s budget of the whole check')
        return status, ''.join(lines)

    def probe(self, name, script, *argv):
        """Runs a probe (a python file) with the target python; its last output line, or
        StepFailed with the error's last line."""
        status, out = self.run([self.python, script, *argv],
                               label=f'{self.python} {script.name} ({name}) {" ".join(argv)}')
        last = out.strip().splitlines()[-1] if out.strip() else '(no output)'
        if status:
            raise StepFailed(last, status)
        return last

    @property
    def device(self):
        return 'cpu' if self.dry else 'cuda'

    # The steps. Each returns (status, detail) or raises StepFailed.

    def environment(self):
        info = json.loads(self.probe('versions and GPU', ENVIRONMENT_PROBE))
        cuda_home = find_cuda_home()
        info['cuda_home'] = cuda_home
        info['nvcc'] = nvcc_version(cuda_home) if cuda_home else None
        info['cxx'] = compiler_version()
        if info['ninja_bin_dir']:  # the ninja package's binary, for torch's builds
            self.env['PATH'] = os.pathsep.join([info['ninja_bin_dir'], self.env['PATH']])
        info['ninja'] = shutil.which('ninja', path=self.env['PATH'])
        info['driver'] = driver_version() if info['cuda_available'] else None
        self.info = self.report['environment'] = info
        problems = [f"{name} does not import ({info[name + '_error']})"
                    for name in ('pytest', 'setuptools') if info[name] is None]
        if not self.dry:
            if not info['cuda_available']:
                problems.append(f"torch {info['torch']} (CUDA {info['torch_cuda']}) sees no GPU "
                                '(use --dry-run on a machine without one)')
            if info['torchvision'] is None:
                problems.append(f"torchvision does not import ({info['torchvision_error']})")
            if cuda_home is None:
                problems.append('nvcc not found: put it on PATH or set CUDA_HOME')
        if problems:
            raise StepFailed('; '.join(problems))
        if self.dry:
            return 'ok', (f"dry run on the CPU: torch {info['torch']}, torchvision "
                          f"{info['torchvision'] or 'not importable'}, python {info['python']}")
        major, minor = info['capability']
        return 'ok', (f"{info['gpu']} (sm_{major}{minor}), driver {info['driver']}, torch "
                      f"{info['torch']} (CUDA {info['torch_cuda']}), torchvision "
                      f"{info['torchvision']}, nvcc {info['nvcc']}")

    def build_env(self):
        """FORCE_CUDA=1 for this GPU's architecture; the CUDA headers of pip-installed
        toolkits (nvidia/*/include: cu13/include for CUDA 13, cuda_runtime/include,
        cublas/include, ... for CUDA 12) after the toolkit's own."""
        env = dict(self.env)
        if self.dry:
            env['FORCE_CUDA'] = '0'
            return env
        major, minor = self.info['capability']
        cuda_home = self.info['cuda_home']
        env.update(FORCE_CUDA='1', TORCH_CUDA_ARCH_LIST=f'{major}.{minor}', CUDA_HOME=cuda_home,
                   MAX_JOBS=env.get('MAX_JOBS', str(os.cpu_count() or 1)))
        env['PATH'] = os.pathsep.join([os.path.join(cuda_home, 'bin'), env['PATH']])
        includes = self.info['nvidia_include_dirs'] + [env.get('CPATH', '')]
        env['CPATH'] = os.pathsep.join(filter(None, includes))
        return env

    def build(self):
        """Builds the op out of tree, in build/gpu_check/torch-<version>/ (never in place: a
        check run with another python, as `make test` does in each environment, must not
        replace the checkout's own build), and makes every later step load that library."""
        if not self.info['ninja']:
            self.say("ninja not found: setuptools' serial compiler calls instead (slower)")
        out = ROOT / 'build' / 'gpu_check' / f"torch-{self.info['torch']}"
        cmd = [self.python, 'setup.py', '-q', 'build_ext', '--build-lib', out / 'lib',
               '--build-temp', out / 'temp']
        # On a GPU always rebuild: an earlier CPU-only build may be newer than the sources.
        status, _ = self.run(cmd if self.dry else cmd + ['--force'], self.build_env())
        if status:
            raise StepFailed(f'setup.py build_ext exited with {status} (output above)')
        built = sorted((out / 'lib' / 'mmdet_psroi' / 'ops').glob('_C*.so'))
        if not built:
            raise StepFailed(f'setup.py build_ext wrote no library to {out / "lib"}')
        library = built[0]
        self.env['MMDET_PSROI_LIBRARY'] = str(library)  # _library.py refuses it if it fails
        try:
            self.probe('op on the device vs the CPU', OP_PROBE, self.device)
        except StepFailed as error:
            if error.status is not None and error.status < 0:
                raise StepFailed(
                    f'the built op crashed (signal {-error.status}) on {self.device} or raising '
                    f"a C++ error; a build whose compiler ({self.info['cxx']}) links a C++ "
                    'runtime of its own into the op crashes so: build with the system '
                    'compiler (CXX=/usr/bin/g++)') from None
            raise StepFailed(f'the built op does not run on {self.device}: {error}') from None
        arch = '' if self.dry else f" for {self.build_env()['TORCH_CUDA_ARCH_LIST']}"
        return 'ok', (f'built{arch}: {library.relative_to(ROOT)} runs on {self.device}, '
                      'matching the CPU kernels')

    def op_tests(self):
        ignored = {} if self.dry else IGNORED_TESTS
        cmd = [self.python, '-m', 'pytest', 'tests/ops', '-p', 'no:cacheprovider']
        cmd += [f'--ignore={path}' for path in ignored]
        if not self.dry and self.info.get('xdist'):
            cmd += ['-n', str(min(XDIST_WORKERS, os.cpu_count() or 1))]
        result = dict(ignored=ignored)
        self.report['op_tests'] = result
        if self.dry:
            status, out = self.run(cmd + ['--collect-only', '-q'])
            collected = sum('::' in line for line in out.splitlines())
            result.update(ran=False, collected=collected)
            if status or not collected:
                raise StepFailed(f'pytest --collect-only exited with {status}, '
                                 f'{collected} tests collected')
            return 'ok', f'dry run: {collected} op tests collected, not run'
        junit = self.out / 'op_tests.xml'
        status, _ = self.run(cmd + ['-q', '-ra', f'--junitxml={junit}'])
        if not junit.is_file():
            raise StepFailed(f'pytest exited with {status} and wrote no {junit.name}')
        counts = parse_junit(junit)
        result.update(ran=True, **counts)
        summary = (f"{counts['passed']} passed ({counts['cuda_passed']} of them CUDA cases), "
                   f"{counts['failed']} failed, {counts['errors']} errors, "
                   f"{counts['skipped']} skipped")
        if status:
            raise StepFailed(f'pytest exited with {status}: {summary}')
        if not counts['cuda_passed']:
            raise StepFailed(f'no CUDA test case passed: {summary}')
        return 'ok', summary

    def op_benchmark(self):
        sizes = OP_BENCHMARK_DRY if self.dry else OP_BENCHMARK
        peer = 'torchvision' if self.info['torchvision'] or not self.dry else 'ours'
        path = self.out / 'benchmark_op.json'
        cmd = [self.python, 'tools/benchmark_op.py', '--device', self.device,
               '--dtype', 'float32', 'float16', '--classes', '21', '81',
               '--rois', *sizes['rois'], '--rounds', sizes['rounds'], '--reps', sizes['reps'],
               '--peers', peer, '--check', '--self-check', '--json', path]
        status, out = self.run(cmd + (['--threads', '1'] if self.dry else []))
        if status:
            mismatches = [line for line in out.splitlines() if line.startswith('MISMATCH')]
            raise StepFailed(f'benchmark_op.py exited with {status}'
                             + (': ' + '; '.join(mismatches) if mismatches else ' (output above)'))
        data = json.loads(path.read_text())
        self.report['op_benchmark'] = data
        expected = 2 * 2 * len(sizes['rois']) * 2 * 2  # ops, classes, RoI counts, dtypes, phases
        if len(data['rows']) != expected:
            raise StepFailed(f"{len(data['rows'])} benchmark rows, expected {expected}")
        ratio, (low, high) = data['self_check_ratio'], SELF_CHECK_RANGE
        if not self.dry and not low <= ratio <= high:
            raise StepFailed(f'timing self-check: {peer} against itself gave {ratio:.2f}x, '
                             f'outside {low}-{high}x: the timings cannot be trusted')
        compared = sum('skipped' not in c for c in data['checks'])
        return 'ok', (f"{len(data['rows'])} timings; {compared} output/gradient comparisons "
                      f"with {peer} agree; self-check {ratio:.2f}x")

    def head_benchmark(self):
        try:
            versions = self.probe('mmcv roi_align, mmdet', HEAD_PROBE, self.device)
        except StepFailed as error:
            reason = f'mmcv with {self.device} ops and mmdet not importable ({error})'
            self.report['head_benchmark'] = dict(skipped=reason)
            return 'skipped', reason
        path = self.out / 'benchmark_head.json'
        cmd = [self.python, 'tools/benchmark_head.py', '--device', self.device, '--json', path]
        status, _ = self.run(cmd + (HEAD_BENCHMARK_DRY if self.dry else HEAD_BENCHMARK))
        if status:
            raise StepFailed(f'benchmark_head.py exited with {status} (output above)')
        data = json.loads(path.read_text())
        data['versions'] = versions
        self.report['head_benchmark'] = data
        return 'ok', f"{len(data['rows'])} timings ({versions})"

    def report_step(self):
        self.report['targets'] = targets(self.report['op_benchmark'])
        self.report['ok'] = self.report['failed_step'] is None
        self.write_outputs()
        return 'ok', f'wrote gpu_check.json and gpu_check.md to {self.out}'

    def write_outputs(self):
        """Writes both files and reads them back; StepFailed if one is missing or short."""
        self.report['seconds'] = round(time.monotonic() - self.start, 1)
        (self.out / 'gpu_check.json').write_text(json.dumps(self.report, indent=2) + '\n')
        (self.out / 'gpu_check.md').write_text(markdown(self.report))
        written = json.loads((self.out / 'gpu_check.json').read_text())
        missing = [k for k in REPORT_KEYS if k not in written]
        if missing:
            raise StepFailed(f"gpu_check.json lacks {', '.join(missing)}")
        if not (self.out / 'gpu_check.md').read_text().startswith('# GPU check'):
            raise StepFailed('gpu_check.md was not written')

    def main(self):
        steps = dict(zip(STEPS, (self.environment, self.build, self.op_tests,
                                 self.op_benchmark, self.head_benchmark, self.report_step)))
        mode = 'DRY RUN on the CPU' if self.dry else 'GPU check'
        self.say(f'{mode}; outputs in {self.out}; budget {self.budget_s:g} s')
        for name, step in steps.items():
            started = time.monotonic()
            record = dict(name=name)
            self.report['steps'].append(record)
            self.say(f'--- step {name}')
            try:
                if os.environ.get(FAIL_ENV) == name:
                    raise StepFailed(f'failure injected ({FAIL_ENV}={name})')
                record['status'], record['detail'] = step()
            except Exception as error:  # noqa: BLE001 (any error fails the step, named)
                message = str(error) if isinstance(error, StepFailed) else \
                    f'{type(error).__name__}: {error}'
                record.update(status='failed', detail=message)
                if self.report['failed_step'] is None:  # the first failure is the verdict
                    self.report.update(ok=False, failed_step=name, error=message)
            record['seconds'] = round(time.monotonic() - started, 1)
            self.say(f"step {name}: {record['status']}: {record['detail']} "
                     f"({record['seconds']} s)")
            if record['status'] == 'failed' and (name in PREREQUISITES
                                                 or self.remaining_s() <= 0):
                break
        done = {r['name'] for r in self.report['steps']}
        self.report['steps'] += [dict(name=n, status='not run') for n in STEPS if n not in done]
        try:
            self.write_outputs()  # again, with the report step's own record
        except Exception as error:  # noqa: BLE001
            self.say(f'could not write the outputs: {error}')
            return 1
        if self.report['failed_step'] is None:
            self.say(f'PASSED in {self.report["seconds"]} s: {self.out}/gpu_check.md')
            return 0
        self.say(f"FAILED in step {self.report['failed_step']}: {self.report['error']}")
        return 1


def targets(op_benchmark):
    """Our forward and backward at least as fast as the peer's at every benchmarked shape."""
    if not op_benchmark:
        return None
    rows = op_benchmark['rows']
    missed = [f"{r['op']} {r['classes']} classes {r['rois']} RoIs {r['dtype']} {r['phase']}: "
              f"{r['speedup']:.2f}x" for r in rows if r['speedup'] < 1.0]
    return dict(ours_at_least_as_fast=dict(met=not missed, rows=len(rows), missed=missed))


def markdown(report):
    env = report['environment'] or {}
    lines = ['# GPU check' + (' (DRY RUN on the CPU, tiny sizes: its times mean nothing)'
                              if report['dry_run'] else ''), '']
    verdict = ('**passed**' if report['ok'] else
               f"**FAILED** in step `{report['failed_step']}`: {report['error']}")
    lines += [f"Result: {verdict} ({report['date']}, {report['seconds']} s)", '']
    if env:
        gpu = (f"{env['gpu']} (sm_{''.join(map(str, env['capability']))}, "
               f"{env['gpu_memory_gib']} GiB)" if env.get('gpu') else 'none')
        lines += ['| | |', '|---|---|', f'| GPU | {gpu} |',
                  f"| driver | {env.get('driver') or '-'} |",
                  f"| CUDA | torch built with {env.get('torch_cuda') or 'none (CPU build)'}; "
                  f"nvcc {env.get('nvcc') or 'not found'} |",
                  f"| C++ compiler | {env.get('cxx') or '-'} |",
                  f"| torch | {env.get('torch')} |",
                  f"| torchvision | {env.get('torchvision') or 'not importable'} |",
                  f"| python | {env.get('python')} |", '']
    lines += ['| step | status | s | detail |', '|---|---|---|---|']
    lines += [f"| {s['name']} | {s.get('status', 'running')} | {s.get('seconds', '')} | "
              f"{s.get('detail', '')} |" for s in report['steps']]
    lines += [''] + op_benchmark_markdown(report) + [''] + head_benchmark_markdown(report)
    return '\n'.join(lines) + '\n'


def op_benchmark_markdown(report):
    data = report['op_benchmark']
    if not data:
        return ['## Op benchmark', '', 'not run']
    peer = data['peers'][0]
    if peer == 'ours':  # the dry run's stand-in where torchvision does not import
        peer = 'our op again'
    bandwidth = ', '.join(f'{v:.0f}' for v in data['bandwidth_gb_s'].values())
    lines = [f"## Op benchmark: ours vs {peer} ({data['device']})", '',
             f"N=1, k=7, 38x63 map, spatial_scale 1/16, RoIs of 16-400 px on a 600x1000 image, "
             f"align with sampling_ratio 2. Times: medians of {data['rounds']} alternating "
             f"rounds of {data['reps']} calls"
             + (', CUDA events' if data['device'].startswith('cuda') else ', wall clock')
             + f"; speed-up = {peer} time / ours, the median of the per-round ratios; "
             f"{peer} timed against itself the same way: {data['self_check_ratio']:.2f}x. "
             f"Floor = bytes that must move over the bandwidth of a 256 MB device copy in "
             f"the same run ({bandwidth} GB/s).", '',
             f'| op | classes | RoIs | dtype | phase | ours ms | {peer} ms | speed-up | '
             'floor ms | ours / floor |', '|---|---|---|---|---|---|---|---|---|---|']
    lines += [f"| {r['op']} | {r['classes']} | {r['rois']} | {r['dtype']} | {r['phase']} | "
              f"{r['ours_ms']:.3f} | {r['peer_ms']:.3f} | **{r['speedup']:.2f}x** | "
              f"{r['floor_ms']:.4f} | {r['ours_over_floor']:.1f}x |" for r in data['rows']]
    target = (report.get('targets') or {}).get('ours_at_least_as_fast')
    if target:
        lines += ['', f"Target (ours at least as fast as {peer}, forward and backward, every "
                      f"shape): {'met' if target['met'] else 'NOT met'} at "
                      f"{target['rows'] - len(target['missed'])}/{target['rows']} rows"
                  + ''.join(f'\n- missed: {m}' for m in target['missed'])]
    checks = [c for c in data.get('checks', []) if 'skipped' not in c]
    if checks:
        worst = max(checks, key=lambda c: c['max_error'] / c['tolerance'])
        lines += ['', f"Check: our outputs and input gradients against {peer} in float64, "
                      f"{sum(c['ok'] for c in checks)}/{len(checks)} within tolerance (worst: "
                      f"{worst['op']} {worst['phase']} {worst['dtype']}, {worst['max_error']:.2g}"
                      f" vs {worst['tolerance']:.0e})."]
    return lines


def head_benchmark_markdown(report):
    data = report['head_benchmark']
    title = '## R-FCN vs Faster R-CNN C4 per image (tools/benchmark_head.py)'
    if not data:
        return [title, '', 'not run']
    if 'skipped' in data:
        return [title, '', f"Skipped: {data['skipped']}."]
    lines = [title, '', f"{data['device_name']}, image {data['image'][0]}x{data['image'][1]}, "
                        f"ResNet-50, random weights, median of {data['rounds']} alternating "
                        f"rounds; {data['versions']}.", '',
             '| RoIs | phase | part | AMP | R-FCN s | Faster R-CNN C4 s | speed-up |',
             '|---|---|---|---|---|---|---|']
    lines += [f"| {r['rois']} | {r['phase']} | {r['part']} | {'yes' if r['amp'] else 'no'} | "
              f"{r['rfcn_s']:.4f} | {r['faster_s']:.4f} | **{r['speedup']:.1f}x** |"
              for r in data['rows']]
    return lines


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='tools/gpu_check.sh', description=__doc__.split('\n')[0],
        epilog=f'steps: {", ".join(STEPS)}; {FAIL_ENV}=<step> makes one fail')
    parser.add_argument('out_dir', metavar='OUT_DIR', type=Path,
                        help='where gpu_check.json and gpu_check.md go (created)')
    parser.add_argument('--dry-run', action='store_true',
                        help='no GPU: the same steps on the CPU with tiny sizes')
    parser.add_argument('--budget-s', type=float, default=BUDGET_S,
                        help='fail when the whole check runs longer (default: %(default)s)')
    args = parser.parse_args(argv)
    if not args.budget_s > 0:
        parser.error(f'--budget-s takes a positive number of seconds, got {args.budget_s}')
    injected = os.environ.get(FAIL_ENV)
    if injected and injected not in STEPS:
        parser.error(f'{FAIL_ENV}={injected!r} names no step; steps: {", ".join(STEPS)}')
    if args.out_dir.exists() and not args.out_dir.is_dir():
        parser.error(f'OUT_DIR {args.out_dir} exists and is not a directory')
    try:
        args.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f'OUT_DIR {args.out_dir} cannot be created: {error}')
    if not os.access(args.out_dir, os.W_OK):
        parser.error(f'OUT_DIR {args.out_dir} is not writable')
    args.out_dir = args.out_dir.resolve()
    return args


def main(argv=None):
    args = parse_args(argv)
    return GPUCheck(args.out_dir, args.dry_run, args.budget_s).main()


if __name__ == '__main__':
    sys.exit(main())
