"""The GPU check (``tools/gpu_check.sh OUT_DIR``, docs/gpu_check.md): the op built, tested and
benchmarked on a CUDA machine, the outputs rendered by ``mmdet_psroi_tools/gpu_check_report.py``."""
import argparse
import contextlib
import datetime
import importlib.metadata
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mmdet_psroi_tools.gpu_check_report import junit_counts, markdown, targets  # noqa: E402

STEPS = ('environment', 'build', 'op-tests', 'op-benchmark', 'head-benchmark', 'report')
FAIL_ENV = 'GPU_CHECK_FAIL_STEP'
SELF_CHECK_RANGE = (0.5, 2.0)  # torchvision timed against itself: outside, timing is broken
REPORT_KEYS = ('schema', 'dry_run', 'ok', 'failed_step', 'error', 'date', 'seconds',
               'environment', 'steps', 'op_tests', 'op_benchmark', 'head_benchmark', 'targets')
PARITY_TEST = 'tests/ops/test_torchvision_parity.py'
# The benchmarks' sizes on the GPU, and in the dry run (tiny, on the CPU, no AMP); 2 RoI counts.
SIZES = {'benchmark_op': (['--rois', '300', '2000', '--rounds', '7', '--reps', '10'],
                          ['--rois', '4', '8', '--rounds', '1', '--reps', '1', '--threads', '1']),
         'benchmark_head': (['--rois', '300', '2000', '--rounds', '3', '--amp', 'both'],
                            ['--rois', '8', '--rounds', '1', '--image-size', '64', '64'])}
# Not run on the GPU (the dry run collects every op test): the nvcc build for sm_75/80/90 (here
# the build step built for this GPU), and the CPU's stand-in for the CUDA kernels.
IGNORED_TESTS = ('tests/ops/test_cuda_build*.py', 'tests/ops/test_cuda_emulation*.py')
# Programs run with the target python: a C++ error of the built op must reach Python (a build
# linking a second C++ runtime crashes here), and mmcv's compiled RoIAlign must run.
RAISES_CHECK = """import sys, torch, mmdet_psroi.ops
x = torch.ones(1, 9, 4, 4, device=sys.argv[1])
try:
    torch.ops.mmdet_psroi.ps_roi_align(x, x.new_ones(1, 4), 1.0, 3, 3, 2)
except RuntimeError:
    sys.exit(0)
sys.exit('rois of shape (K, 4) raised no error')"""
MMCV_CHECK = """import sys, torch, mmcv, mmdet, mmcv.ops
x = torch.ones(1, 1, 4, 4, device=sys.argv[1])
assert mmcv.ops.roi_align(x, x.new_tensor([[0, 0, 0, 3, 3]]), 2, 1.0, 0).shape == (1, 1, 2, 2)
print(f'mmcv {mmcv.__version__}, mmdet {mmdet.__version__}')"""


class StepFailed(Exception):
    """A step's failure, with its message."""


def installed(module):
    return importlib.util.find_spec(module) is not None


class GPUCheck:
    def __init__(self, out_dir, dry_run, budget_s):
        self.out, self.dry, self.budget_s = out_dir, dry_run, budget_s
        self.device = 'cpu' if dry_run else 'cuda'
        self.python = sys.executable
        self.start = time.monotonic()
        self.log = open(out_dir / 'gpu_check.log', 'w')
        self.report = dict.fromkeys(REPORT_KEYS)
        self.report.update(schema=2, dry_run=dry_run, steps=[], date=datetime.datetime.now(
            datetime.timezone.utc).isoformat(timespec='seconds'))
        # This python's bin folder (its ninja) first on PATH, the checkout on PYTHONPATH, no
        # MMDET_PSROI_LIBRARY until the build step sets its own.
        env = {k: v for k, v in os.environ.items() if k != 'MMDET_PSROI_LIBRARY'}
        paths = filter(None, [str(ROOT), env.get('PYTHONPATH')])
        self.env = dict(env, PYTHONUNBUFFERED='1', PYTHONPATH=os.pathsep.join(paths),
                        PATH=os.pathsep.join([os.path.dirname(self.python), env['PATH']]))
        self.info = {}

    def echo(self, text):
        """Writes ``text`` to stdout and to gpu_check.log; returns it."""
        for stream in (sys.stdout, self.log):
            stream.write(text)
            stream.flush()
        return text

    def say(self, message):
        self.echo(f'[gpu-check] {message}\n')

    def remaining_s(self):
        return self.budget_s - (time.monotonic() - self.start)

    def run(self, cmd, env=None):
        """Runs cmd in the checkout, echoing and logging its output: (status, output). Killed,
        with the compilers it started, when the check's time budget runs out."""
        spent = StepFailed(f'stopped at the {self.budget_s:g} s budget of the whole check')
        if self.remaining_s() <= 0:
            raise spent
        cmd = list(map(str, cmd))
        self.say('$ ' + ' '.join(cmd))
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env or self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)

        def stop():
            with contextlib.suppress(ProcessLookupError):  # already ended
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(self.remaining_s(), stop)
        timer.start()
        try:
            output = ''.join(map(self.echo, proc.stdout))
            status = proc.wait()
        except BaseException:  # Ctrl-C included: no compiler left running
            stop()
            raise
        finally:
            timer.cancel()
        if self.remaining_s() <= 0:
            raise spent
        return status, output

    def check(self, code):
        """Runs ``python -c code DEVICE``: its exit status and its last output line."""
        status, out = self.run([self.python, '-c', code, self.device])
        return status, (out.strip().splitlines() or ['(no output)'])[-1]

    # The steps: each returns (status, detail) or raises StepFailed.

    def environment(self):
        import torch
        from torch.utils.cpp_extension import CUDA_HOME  # setup.py's toolkit

        if CUDA_HOME:
            self.env['PATH'] = os.pathsep.join([os.path.join(CUDA_HOME, 'bin'), self.env['PATH']])
        _, out = self.run([self.python, '-m', 'torch.utils.collect_env'])  # all of it: the log's
        found = dict(line.split(': ', 1) for line in out.splitlines() if ': ' in line)
        gpu = torch.cuda.get_device_properties(0) if torch.cuda.is_available() else None
        info = self.info = self.report['environment'] = dict(
            python=sys.version.split()[0], torch=torch.__version__, torch_cuda=torch.version.cuda,
            torchvision=(importlib.metadata.version('torchvision') if installed('torchvision')
                         else None),
            cuda_home=CUDA_HOME, nvcc=CUDA_HOME and found.get('CUDA runtime version'),
            driver=found.get('Nvidia driver version'), xdist=installed('xdist'),
            cxx=f"{os.environ.get('CXX', 'c++')} (gcc {found.get('GCC version')})",
            **(dict(gpu=gpu.name, capability=[gpu.major, gpu.minor],
                    gpu_memory_gib=round(gpu.total_memory / 2**30, 1)) if gpu else {}))
        needed = ('pytest', 'setuptools') + (() if self.dry else ('torchvision',))
        problems = [f'{name} is not importable' for name in needed if not installed(name)]
        if not (self.dry or gpu):
            problems.append(f"torch {info['torch']} (CUDA {info['torch_cuda']}) sees no GPU "
                            '(use --dry-run on a machine without one)')
        if not (self.dry or CUDA_HOME):
            problems.append('nvcc not found: put it on PATH or set CUDA_HOME')
        if problems:
            raise StepFailed('; '.join(problems))
        where = ('dry run on the CPU' if self.dry else
                 f"{info['gpu']} (sm_{''.join(map(str, info['capability']))}), driver "
                 f"{info['driver']}, nvcc {info['nvcc']}")
        return 'ok', (f"{where}: torch {info['torch']} (CUDA {info['torch_cuda']}), "
                      f"torchvision {info['torchvision'] or 'not importable'}")

    def build(self):
        """Builds the op for this GPU in build/gpu_check/torch-<version>/ (not the checkout's own
        build: a check run with another python must not replace it) and makes every later step
        load it. On a GPU always rebuilt: a CPU-only build may be newer than the sources."""
        out = ROOT / 'build' / 'gpu_check' / f"torch-{self.info['torch']}"
        env, for_arch = dict(self.env, FORCE_CUDA='0'), ''
        if not self.dry:
            arch = '{}.{}'.format(*self.info['capability'])
            for_arch = f' for {arch}'
            nvidia = importlib.util.find_spec('nvidia')  # pip-installed CUDA toolkits
            includes = sorted(str(d) for p in (nvidia.submodule_search_locations if nvidia else [])
                              for d in Path(p).glob('*/include'))
            env.update(FORCE_CUDA='1', CUDA_HOME=self.info['cuda_home'], TORCH_CUDA_ARCH_LIST=arch,
                       MAX_JOBS=env.get('MAX_JOBS', str(os.cpu_count() or 1)),
                       CPATH=os.pathsep.join(filter(None, includes + [env.get('CPATH')])))
        status, _ = self.run([self.python, 'setup.py', '-q', 'build_ext', '--build-lib',
                              out / 'lib', '--build-temp', out / 'temp']
                             + ([] if self.dry else ['--force']), env)
        built = sorted((out / 'lib' / 'mmdet_psroi' / 'ops').glob('_C*.so'))
        if status or not built:
            raise StepFailed(f'setup.py build_ext exited with {status}'
                             + ('' if built else ', no _C*.so written') + ' (output above)')
        self.env['MMDET_PSROI_LIBRARY'] = str(built[0])  # _library.py refuses it if it fails
        status, last_line = self.check(RAISES_CHECK)
        if status < 0:
            raise StepFailed(
                f'the built op crashed (signal {-status}) on {self.device} raising a C++ error; '
                f"a build whose compiler ({self.info['cxx']}) links a C++ runtime of its own "
                'into the op crashes so: build with the system compiler (CXX=/usr/bin/g++)')
        if status:
            raise StepFailed(f'the built op does not run on {self.device}: {last_line}')
        return 'ok', (f'built{for_arch}: {built[0].relative_to(ROOT)} loads and raises its '
                      f'errors on {self.device}')

    def op_tests(self):
        ignored = () if self.dry else IGNORED_TESTS
        cmd = [self.python, '-m', 'pytest', 'tests/ops', '-p', 'no:cacheprovider',
               *(f'--ignore-glob={pattern}' for pattern in ignored)]
        result = self.report['op_tests'] = dict(ignored=ignored)
        if self.dry:
            status, out = self.run(cmd + ['--collect-only', '-q'])
            collected = sum('::' in line for line in out.splitlines())
            result.update(ran=False, collected=collected)
            if status or not collected:
                raise StepFailed(f'pytest --collect-only exited with {status}, '
                                 f'{collected} tests collected')
            return 'ok', f'dry run: {collected} op tests collected, not run'
        junit = self.out / 'op_tests.xml'
        # With xdist, a test that crashes its worker is reported by name.
        status, _ = self.run(cmd + (['-n', 'auto'] if self.info['xdist'] else [])
                             + ['-q', '-ra', f'--junitxml={junit}'])
        if not junit.is_file():
            raise StepFailed(f'pytest exited with {status} and wrote no {junit.name}')
        counts, parity = junit_counts(junit), junit_counts(junit, Path(PARITY_TEST).stem)
        result.update(ran=True, **counts, torchvision_parity=parity)
        summary = (f"{counts['passed']} passed ({counts['cuda_passed']} of them CUDA cases; "
                   f"{parity['cuda_passed']} CUDA cases of {PARITY_TEST}), "
                   f"{counts['failed']} failed, {counts['errors']} errors, "
                   f"{counts['skipped']} skipped")
        if status:
            raise StepFailed(f'pytest exited with {status}: {summary}')
        if not counts['cuda_passed']:
            raise StepFailed(f'no CUDA test case passed: {summary}')
        return 'ok', summary

    def benchmark(self, script, *argv):
        """Runs tools/<script>.py on the device at its sizes; the JSON it wrote."""
        path = self.out / f'{script}.json'
        status, _ = self.run([self.python, f'tools/{script}.py', '--device', self.device,
                              '--json', path, *SIZES[script][self.dry], *argv])
        if status:
            raise StepFailed(f'{script}.py exited with {status} (output above)')
        return json.loads(path.read_text())

    def op_benchmark(self):
        peer = 'torchvision' if self.info.get('torchvision') or not self.dry else 'ours'
        data = self.report['op_benchmark'] = self.benchmark(
            'benchmark_op', '--dtype', 'float32', 'float16', '--classes', '21', '81', '--peers',
            peer, '--self-check')
        expected = 2 * 2 * 2 * 2 * 2  # ops, classes, RoI counts, dtypes, phases
        if len(data['rows']) != expected:
            raise StepFailed(f"{len(data['rows'])} benchmark rows, expected {expected}")
        ratio, (low, high) = data['self_check_ratio'], SELF_CHECK_RANGE
        if not self.dry and not low <= ratio <= high:
            raise StepFailed(f'timing self-check: {peer} against itself gave {ratio:.2f}x, '
                             f'outside {low}-{high}x: the timings cannot be trusted')
        return 'ok', f"{len(data['rows'])} timings against {peer}; self-check {ratio:.2f}x"

    def head_benchmark(self):
        status, versions = self.check(MMCV_CHECK)
        if status:
            reason = f'mmcv with {self.device} ops and mmdet not importable ({versions})'
            self.report['head_benchmark'] = dict(skipped=reason)
            return 'skipped', reason
        data = self.report['head_benchmark'] = dict(self.benchmark('benchmark_head'),
                                                    versions=versions)
        return 'ok', f"{len(data['rows'])} timings ({versions})"

    def report_step(self):
        self.report['targets'] = targets(self.report['op_benchmark'])
        self.write_outputs()
        return 'ok', f'wrote gpu_check.json and gpu_check.md to {self.out}'

    def write_outputs(self):
        self.report.update(ok=self.report['failed_step'] is None,
                           seconds=round(time.monotonic() - self.start, 1))
        (self.out / 'gpu_check.json').write_text(json.dumps(self.report, indent=2) + '\n')
        (self.out / 'gpu_check.md').write_text(markdown(self.report))

    def main(self):
        mode = 'DRY RUN on the CPU' if self.dry else 'GPU check'
        self.say(f'{mode}; outputs in {self.out}; budget {self.budget_s:g} s')
        steps = dict(zip(STEPS, (self.environment, self.build, self.op_tests,
                                 self.op_benchmark, self.head_benchmark, self.report_step)))
        for name, step in steps.items():
            started, record = time.monotonic(), dict(name=name)
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
                    self.report.update(failed_step=name, error=message)
            record['seconds'] = round(time.monotonic() - started, 1)
            self.say(f"step {name}: {record['status']}: {record['detail']} "
                     f"({record['seconds']} s)")
            prerequisite = name in ('environment', 'build')  # nothing runs without them
            if record['status'] == 'failed' and (prerequisite or self.remaining_s() <= 0):
                break
        ran = len(self.report['steps'])
        self.report['steps'] += [dict(name=name, status='not run') for name in STEPS[ran:]]
        self.write_outputs()  # again, with the report step's own record
        if self.report['ok']:
            self.say(f'PASSED in {self.report["seconds"]} s: {self.out}/gpu_check.md')
            return 0
        self.say(f"FAILED in step {self.report['failed_step']}: {self.report['error']}")
        return 1


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='tools/gpu_check.sh', description=__doc__.split('\n')[0],
        epilog=f'steps: {", ".join(STEPS)}; {FAIL_ENV}=<step> makes one fail')
    parser.add_argument('out_dir', metavar='OUT_DIR', type=Path,
                        help='where gpu_check.json and gpu_check.md go (created)')
    parser.add_argument('--dry-run', action='store_true',
                        help='no GPU: the same steps on the CPU with tiny sizes')
    parser.add_argument('--budget-s', type=float, default=480,
                        help='fail when the whole check runs longer (default: %(default)s)')
    args = parser.parse_args(argv)
    if not args.budget_s > 0:
        parser.error(f'--budget-s takes a positive number of seconds, got {args.budget_s}')
    injected = os.environ.get(FAIL_ENV)
    if injected and injected not in STEPS:
        parser.error(f'{FAIL_ENV}={injected!r} names no step; steps: {", ".join(STEPS)}')
    try:
        args.out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        parser.error(f'OUT_DIR {args.out_dir} exists and is not a directory')
    except OSError as error:
        parser.error(f'OUT_DIR {args.out_dir} cannot be created: {error}')
    if not os.access(args.out_dir, os.W_OK):
        parser.error(f'OUT_DIR {args.out_dir} is not writable')
    args.out_dir = args.out_dir.resolve()
    return args


if __name__ == '__main__':
    args = parse_args()
    sys.exit(GPUCheck(args.out_dir, args.dry_run, args.budget_s).main())
