"""The GPU check's report (tools/gpu_check.sh, docs/gpu_check.md): pytest's JUnit XML counted,
the speed target, and gpu_check.md rendered from the check's record (gpu_check.json)."""
import xml.etree.ElementTree as ElementTree

from .outputs import table

# Test modules with 'cuda' in their case names that compile or emulate the kernels on the CPU.
NOT_ON_THE_GPU = ('test_cuda_build', 'test_cuda_emulation')
OUTCOMES = {'failure': 'failed', 'error': 'errors', 'skipped': 'skipped'}


def junit_counts(path, module=''):
    """Counts of a pytest JUnit XML file (of the cases whose module name holds ``module``):
    tests, passed, failed, errors, skipped, and passed CUDA cases (named or parametrized with
    'cuda', outside the modules that only compile or emulate the kernels)."""
    counts = dict(tests=0, passed=0, failed=0, errors=0, skipped=0, cuda_passed=0)
    for case in ElementTree.parse(path).iter('testcase'):
        classname = case.get('classname', '')
        if module not in classname:
            continue
        outcome = next((OUTCOMES[c.tag] for c in case if c.tag in OUTCOMES), 'passed')
        counts['tests'] += 1
        counts[outcome] += 1
        on_cpu = any(name in classname for name in NOT_ON_THE_GPU)
        if outcome == 'passed' and 'cuda' in case.get('name', '').lower() and not on_cpu:
            counts['cuda_passed'] += 1
    return counts


def targets(op_benchmark):
    """Our forward and backward at least as fast as the peer's at every benchmarked shape."""
    if not op_benchmark:
        return None
    rows = op_benchmark['rows']
    missed = [f"{r['op']} {r['classes']} classes {r['rois']} RoIs {r['dtype']} {r['phase']}: "
              f"{r['speedup']:.2f}x" for r in rows if r['speedup'] < 1.0]
    return dict(ours_at_least_as_fast=dict(met=not missed, rows=len(rows), missed=missed))


def markdown(report):
    """gpu_check.md: the verdict, the environment, the steps, the benchmarks' tables."""
    env = report['environment'] or {}
    verdict = ('**passed**' if report['ok'] else
               f"**FAILED** in step `{report['failed_step']}`: {report['error']}")
    lines = ['# GPU check' + (' (DRY RUN on the CPU, tiny sizes: its times mean nothing)'
                              if report['dry_run'] else ''), '',
             f"Result: {verdict} ({report['date']}, {report['seconds']} s)", '']
    if env:
        gpu = (f"{env['gpu']} (sm_{''.join(map(str, env['capability']))}, "
               f"{env['gpu_memory_gib']} GiB)" if env.get('gpu') else 'none')
        lines += table(['', ''], [
            ('GPU', gpu), ('driver', env.get('driver') or '-'),
            ('CUDA', f"torch built with {env.get('torch_cuda') or 'none (CPU build)'}; "
                     f"nvcc {env.get('nvcc') or 'not found'}"),
            ('C++ compiler', env.get('cxx') or '-'), ('torch', env.get('torch')),
            ('torchvision', env.get('torchvision') or 'not importable'),
            ('python', env.get('python'))]) + ['']
    lines += table(['step', 'status', 's', 'detail'], [
        (s['name'], s.get('status', 'running'), s.get('seconds', ''), s.get('detail', ''))
        for s in report['steps']])
    return '\n'.join(lines + [''] + op_benchmark_markdown(report) + ['']
                     + head_benchmark_markdown(report)) + '\n'


def op_benchmark_markdown(report):
    data = report['op_benchmark']
    if not data:
        return ['## Op benchmark', '', 'not run']
    peer = {'ours': 'our op again'}.get(data['peers'][0], data['peers'][0])
    bandwidth = ', '.join(f'{v:.0f}' for v in data['bandwidth_gb_s'].values())
    lines = [f"## Op benchmark: ours vs {peer} ({data['device']})", '',
             f"N=1, k=7, 38x63 map, spatial_scale 1/16, RoIs of 16-400 px on a 600x1000 image, "
             f"align with sampling_ratio 2. Times: medians of {data['rounds']} alternating "
             f"rounds of {data['reps']} calls"
             + (', CUDA events' if data['device'].startswith('cuda') else ', wall clock')
             + f"; speed-up = {peer} time / ours, the median of the per-round ratios; "
             f"{peer} timed against itself the same way: {data['self_check_ratio']:.2f}x. "
             f"Floor = bytes that must move over the bandwidth of a 256 MB device copy in "
             f"the same run ({bandwidth} GB/s).", '']
    lines += table(
        ['op', 'classes', 'RoIs', 'dtype', 'phase', 'ours ms', f'{peer} ms', 'speed-up',
         'floor ms', 'ours / floor'],
        [(r['op'], r['classes'], r['rois'], r['dtype'], r['phase'], f"{r['ours_ms']:.3f}",
          f"{r['peer_ms']:.3f}", f"**{r['speedup']:.2f}x**", f"{r['floor_ms']:.4f}",
          f"{r['ours_over_floor']:.1f}x") for r in data['rows']])
    target = (report.get('targets') or {}).get('ours_at_least_as_fast')
    if target:
        lines += ['', f"Target (ours at least as fast as {peer}, forward and backward, every "
                      f"shape): {'met' if target['met'] else 'NOT met'} at "
                      f"{target['rows'] - len(target['missed'])}/{target['rows']} rows"
                  + ''.join(f'\n- missed: {m}' for m in target['missed'])]
    return lines


def head_benchmark_markdown(report):
    data = report['head_benchmark']
    title = '## R-FCN vs Faster R-CNN C4 per image (tools/benchmark_head.py)'
    if not data or 'skipped' in data:
        return [title, '', f"Skipped: {data['skipped']}." if data else 'not run']
    return [title, '', f"{data['device_name']}, image {data['image'][0]}x{data['image'][1]}, "
                       f"ResNet-50, random weights, median of {data['rounds']} alternating "
                       f"rounds; {data['versions']}.", ''] + table(
        ['RoIs', 'phase', 'part', 'AMP', 'R-FCN s', 'Faster R-CNN C4 s', 'speed-up'],
        [(r['rois'], r['phase'], r['part'], 'yes' if r['amp'] else 'no', f"{r['rfcn_s']:.4f}",
          f"{r['faster_s']:.4f}", f"**{r['speedup']:.1f}x**") for r in data['rows']])
