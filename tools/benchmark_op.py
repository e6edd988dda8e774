"""Benchmark the PS RoI ops against their peers (torchvision's ops, mmcv's ``roi_align`` giving
as many outputs, or our op itself) as ratios measured in the same run, and deformable PS RoI
pooling against our ps_roi_align: docs/benchmarks.md, docs/gpu_check.md, docs/op.md.

    python tools/benchmark_op.py [--self-check] [--device cuda --dtype float32 float16]
"""
import argparse
import functools

import torch

from mmdet_psroi.ops import deform_ps_roi_pool, ps_roi_align, ps_roi_pool
from mmdet_psroi_tools.arguments import at_least, device
from mmdet_psroi_tools.outputs import row, table, write_json
from mmdet_psroi_tools.timing import interleaved_rounds, speedup, synchronized

K, SPATIAL_SCALE = 7, 1 / 16
IMAGE_SIZE = (600, 1000)  # (h, w) -> a 38x63 map at stride 16
OURS = {'pool': ps_roi_pool, 'align': ps_roi_align}
DTYPES = ('bfloat16', 'float16', 'float32', 'float64')
PEER_NAMES = {'torchvision': 'torchvision', 'mmcv': 'mmcv RoIAlign', 'ours': 'ours'}


def find_peers(wanted=None):
    """{name: {op: fn}} of the importable peers (all of them, or those named in ``wanted``);
    raises RuntimeError naming a wanted peer that cannot be imported."""
    peers, errors = {'ours': dict(OURS)}, {}  # ours: our op timed against itself
    try:
        import torchvision.ops as tv_ops
        peers['torchvision'] = {'pool': tv_ops.ps_roi_pool, 'align': tv_ops.ps_roi_align}
    except Exception as error:  # noqa: BLE001 (absent or not loadable beside this torch)
        errors['torchvision'] = error
    try:
        from mmcv.ops import roi_align
        # (x, rois, k, scale, sampling_ratio) as ours, average pooling, aligned corners
        peers['mmcv RoIAlign'] = {'align': lambda *args: roi_align(*args, 'avg', True)}
    except Exception as error:  # noqa: BLE001
        errors['mmcv RoIAlign'] = error
    names = [PEER_NAMES[choice] for choice in wanted or ('torchvision', 'mmcv')]
    missing = [f'{name} ({errors[name]})' for name in names if name not in peers]
    if wanted and missing:
        raise RuntimeError(f'not importable: {", ".join(missing)}')
    return {name: peers[name] for name in names if name in peers}


def inputs(classes, num_rois, device, dtype='float32'):
    """A map of the benchmark's size with k*k channels per class, (K, 5) RoIs of 16-400 px
    anywhere on the image, and their generator."""
    generator = torch.Generator().manual_seed(0)
    h, w = (s // 16 + (s % 16 > 0) for s in IMAGE_SIZE)
    x = torch.randn(1, classes * K * K, h, w, generator=generator)
    size = 16 + torch.rand(num_rois, 2, generator=generator) * 384
    xy = torch.rand(num_rois, 2, generator=generator) * (torch.tensor(IMAGE_SIZE[::-1]) - size)
    rois = torch.cat([torch.zeros(num_rois, 1), xy, xy + size], dim=1)
    return x.to(device, getattr(torch, dtype)), rois.to(device, getattr(torch, dtype)), generator


def copy_bandwidth(rounds, device):
    """Bytes per second of a 256 MB tensor copy (read + write) on device."""
    src = torch.ones(64 * 1024 * 1024, device=device)
    dst = torch.empty_like(src)
    times = interleaved_rounds({'copy': lambda: dst.copy_(src)}, rounds,
                               measure=synchronized(device, 10 if device.type == 'cuda' else 1))
    return 2 * src.numel() * src.element_size() / times['copy'].median


def forward_backward(fn, x, rois, *args):
    """Callables running fn's forward, and its backward from a retained graph; and the
    bytes these must move (forward, backward), the distinct reads counted from the gradient
    of the output's sum."""
    leaf = x.clone().requires_grad_()
    out = fn(leaf, rois, *args)
    (grad,) = torch.autograd.grad(out.sum(), leaf, retain_graph=True)
    ones = torch.ones_like(out)
    item = x.element_size()
    floor_bytes = ((int((grad != 0).sum()) + out.numel() + rois.numel()) * item,
                   (out.numel() + rois.numel() + x.numel()) * item)
    return ((lambda: fn(x, rois, *args)),
            (lambda: torch.autograd.grad(out, leaf, ones, retain_graph=True)), floor_bytes)


def table_header(device, dtypes):
    """The printed table's row keys (a dtype column on a GPU or with other dtypes than float32)
    and its header."""
    keys = (['op', 'classes', 'rois'] + (['threads'] if device.type == 'cpu' else [])
            + (['dtype'] if device.type != 'cpu' or dtypes != ['float32'] else [])
            + ['phase', 'peer'])
    return keys, '\n'.join(table([{'rois': 'RoIs'}.get(k, k) for k in keys] + [
        'ours ms', 'peer ms', 'speed-up', 'memory floor ms', 'ours / floor']))


def timed_rows(args, shape, peer, ours, theirs, floors=(None, None)):
    """Forward and backward rows of ``shape`` (op, classes, rois, dtype), our callables timed
    against the peer's (``reps`` calls a timing, after two warm-up calls); ``floors``: their
    memory floors in seconds, where known."""
    (op, classes, rois, dtype), rows = shape, []
    threads = torch.get_num_threads() if args.device.type == 'cpu' else None
    for phase, a, b, floor in zip(('forward', 'backward'), ours, theirs, floors):
        ours_s, peer_s, ratio = speedup(a, b, args.rounds, 2, synchronized(args.device, args.reps))
        r = dict(op=op, classes=classes, rois=rois, threads=threads, dtype=dtype, phase=phase,
                 peer=peer, ours_ms=ours_s * 1e3, peer_ms=peer_s * 1e3, speedup=ratio,
                 floor_ms=None if floor is None else floor * 1e3,
                 ours_over_floor=None if floor is None else ours_s / floor)
        rows.append(r)
        print(row([r[k] for k in args.table_keys] + [
            f"{r['ours_ms']:.2f}", f"{r['peer_ms']:.2f}", f"**{r['speedup']:.2f}x**",
            '-' if floor is None else f"{r['floor_ms']:.3f}",
            '-' if floor is None else f"{r['ours_over_floor']:.1f}x"]), flush=True)
    return rows


def run_case(args, bandwidth, op, classes, num_rois, dtype):
    """Timing rows of one (op, classes, rois, dtype) against every peer that has the op."""
    x, rois, _ = inputs(classes, num_rois, args.device, dtype)
    op_args = (K, SPATIAL_SCALE) if op == 'pool' else (K, SPATIAL_SCALE, 2)
    *ours, floor_bytes = forward_backward(OURS[op], x, rois, *op_args)
    rows = []
    for peer, peer_ops in args.peer_ops.items():
        if op in peer_ops:  # mmcv's RoIAlign: as many outputs from one channel per class
            peer_x = x[:, :classes].contiguous() if peer == 'mmcv RoIAlign' else x
            theirs = forward_backward(peer_ops[op], peer_x, rois, *op_args)[:2]
            rows += timed_rows(args, (op, classes, num_rois, dtype), peer, ours, theirs,
                               [b / bandwidth for b in floor_bytes])
    return rows


def run_deform_case(args, classes, num_rois):
    """deform_ps_roi_pool (map and offset gradients, class-specific offsets, 4 samples per
    part side) against our ps_roi_align with the same samples; no memory floor."""
    x, rois, generator = inputs(classes, num_rois, args.device)
    offset = (0.1 * torch.randn(num_rois, 2 * classes, K, K, generator=generator)).to(args.device)
    leaf_offset = offset.clone().requires_grad_()
    ours = forward_backward(
        lambda t, r: deform_ps_roi_pool(t, r, leaf_offset, K, SPATIAL_SCALE, sample_per_part=4),
        x, rois)[:2]
    theirs = forward_backward(ps_roi_align, x, rois, K, SPATIAL_SCALE, 4)[:2]
    return timed_rows(args, ('deform', classes, num_rois, 'float32'), 'our ps_roi_align', ours,
                      theirs)


def cases(args):
    if args.classes is None:  # README's CPU table: VOC at every RoI count, COCO at 300
        shapes = [(op, 21, n) for op in OURS for n in args.rois] + [(op, 81, 300) for op in OURS]
    else:
        shapes = [(op, c, n) for c in args.classes for op in OURS for n in args.rois]
    return [(*shape, dtype) for dtype in args.dtype for shape in shapes]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', type=device, default='cpu', help='cpu or cuda[:index]')
    parser.add_argument('--dtype', nargs='+', default=['float32'], choices=DTYPES)
    parser.add_argument('--classes', type=at_least(1), nargs='+',
                        help='class counts (incl. background) timed at every --rois; default: '
                             '21 at every --rois and 81 at 300')
    parser.add_argument('--rois', type=at_least(1), nargs='+', default=[300, 2000])
    parser.add_argument('--threads', type=at_least(1), nargs='+',
                        default=sorted({1, torch.get_num_threads()}), help='CPU only')
    parser.add_argument('--peers', nargs='+', choices=('torchvision', 'mmcv', 'ours'),
                        help="default: every importable one of torchvision and mmcv; 'ours' "
                             'times our op against itself (a dry run where none is importable)')
    parser.add_argument('--rounds', type=at_least(1), default=7)
    parser.add_argument('--reps', type=at_least(1), default=5, help='calls per timed round')
    parser.add_argument('--self-check', action='store_true')
    parser.add_argument('--json', default='work_dirs/benchmark_op.json')
    args = parser.parse_args(argv)
    try:
        args.peer_ops = find_peers(args.peers)
    except RuntimeError as error:
        parser.error(f'--peers: {error}')
    args.table_keys, args.table_header = table_header(args.device, args.dtype)
    return args


def main(argv=None):
    args = parse_args(argv)
    peers, on_cpu = args.peer_ops, args.device.type == 'cpu'
    print(f'torch {torch.__version__}; peers found: '
          + (", ".join(peers) or 'none (torchvision or mmcv): nothing to compare against')
          + ('' if on_cpu else f'; device {args.device}'))
    results = dict(torch=torch.__version__, device=str(args.device), dtypes=args.dtype,
                   peers=list(peers), rounds=args.rounds, reps=args.reps, rows=[], deform_rows=[],
                   bandwidth_gb_s={})
    for threads in args.threads if on_cpu else [None]:  # thread counts in turn on the CPU
        if threads:
            torch.set_num_threads(threads)
        bandwidth = copy_bandwidth(args.rounds, args.device)
        results['bandwidth_gb_s'][threads or str(args.device)] = bandwidth / 1e9
        label = f'{threads} thread(s)' if threads else torch.cuda.get_device_name(args.device)
        print(f'\n{label}; large-copy bandwidth {bandwidth / 1e9:.1f} GB/s; '
              f'k={K}, 38x63 map, spatial_scale 1/16, align sampling_ratio 2\n')
        print(args.table_header)
        for case in cases(args):
            results['rows'] += run_case(args, bandwidth, *case)
        results['deform_rows'] += run_deform_case(args, (args.classes or [21])[0], args.rois[0])
    if args.self_check and peers:  # the first peer against itself: should be ~1.0x
        name = next(iter(peers))
        x, rois, _ = inputs(21, 300, args.device)
        fn = functools.partial(peers[name]['align'], x, rois, K, SPATIAL_SCALE, 2)
        ratio = speedup(fn, fn, args.rounds, 2, synchronized(args.device, args.reps))[2]
        results.update(self_check_peer=name, self_check_ratio=ratio)
        print(f"self-check: {name} ps_roi_align vs itself: {results['self_check_ratio']:.2f}x")
    write_json(args.json, results)
    print(f'\nwrote {args.json}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
