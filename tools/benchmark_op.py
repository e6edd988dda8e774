"""Benchmark the PS RoI ops against their peers, as ratios measured in the same run.

docs/benchmarks.md; on a GPU, the GPU check's op benchmark (docs/gpu_check.md). Peers, where
importable: torchvision's ``ps_roi_pool`` / ``ps_roi_align``, and mmcv's ``roi_align`` giving as
many output values; ``--peers ours`` times our op against itself. Deformable PS RoI pooling is
timed against our ps_roi_align with the same samples (docs/op.md). Times: medians of alternating
rounds after a warm-up (``mmdet_psroi_tools.timing``; CUDA events on a GPU); memory floor: the
bytes that must move over the bandwidth of a large copy.

    python tools/benchmark_op.py [--self-check] [--device cuda --dtype float32 float16]
"""
import argparse
import sys

import torch

from mmdet_psroi.ops import deform_ps_roi_pool, ps_roi_align, ps_roi_pool
from mmdet_psroi_tools import arguments
from mmdet_psroi_tools.outputs import row, table, write_json
from mmdet_psroi_tools.timing import interleaved_rounds, per_round_ratio, synchronized

SPATIAL_SCALE = 1 / 16
K = 7
IMAGE_SIZE = (600, 1000)  # (h, w) -> a 38x63 map at stride 16
OURS = {'pool': ps_roi_pool, 'align': ps_roi_align}
DTYPES = {'float32': torch.float32, 'float16': torch.float16, 'bfloat16': torch.bfloat16,
          'float64': torch.float64}
PEER_NAMES = {'torchvision': 'torchvision', 'mmcv': 'mmcv RoIAlign', 'ours': 'ours'}
SAME_OP_PEERS = ('torchvision', 'ours')  # peers that compute our op (mmcv: RoIAlign)


def find_peers(wanted=None):
    """{name: {op: fn}} of the importable peers (all of them, or those named in ``wanted``);
    raises RuntimeError naming a wanted peer that cannot be imported."""
    peers, errors = {}, {}
    try:
        import torchvision.ops as tv_ops
        peers['torchvision'] = {'pool': tv_ops.ps_roi_pool, 'align': tv_ops.ps_roi_align}
    except Exception as error:  # noqa: BLE001 (absent or not loadable beside this torch)
        errors['torchvision'] = error
    try:
        from mmcv.ops import roi_align
        peers['mmcv RoIAlign'] = {
            'align': lambda x, rois, k, scale, ratio: roi_align(x, rois, k, scale, ratio, 'avg',
                                                                True)}
    except Exception as error:  # noqa: BLE001
        errors['mmcv RoIAlign'] = error
    if wanted is None:
        return peers
    peers['ours'] = dict(OURS)  # our op timed against itself, where no peer is importable
    names = [PEER_NAMES[choice] for choice in wanted]
    missing = [f'{name} ({errors[name]})' for name in names if name not in peers]
    if missing:
        raise RuntimeError(f'not importable: {", ".join(missing)}')
    return {name: peers[name] for name in names}


def make_rois(num, generator):
    """Boxes of 16..400 px anywhere on a 600x1000 image, as (K, 5) rois of image 0."""
    h, w = IMAGE_SIZE
    size = 16 + torch.rand(num, 2, generator=generator) * 384
    xy = torch.rand(num, 2, generator=generator) * (torch.tensor([w, h]) - size)
    return torch.cat([torch.zeros(num, 1), xy, xy + size], dim=1)


def compare(ours, peer, args):
    """Median times (s) of two callables timed in alternation (``reps`` calls a timing, after
    two warm-up calls), and the median per-round ratio peer / ours."""
    times = interleaved_rounds({'ours': ours, 'peer': peer}, args.rounds, warmup=2,
                               measure=synchronized(args.device, args.reps))
    return (times['ours'].median, times['peer'].median,
            per_round_ratio(times['peer'], times['ours']).median)


def copy_bandwidth(rounds, device):
    """Bytes per second of a 256 MB tensor copy (read + write) on device."""
    src = torch.ones(64 * 1024 * 1024, device=device)
    dst = torch.empty_like(src)
    reps = 10 if device.type == 'cuda' else 1
    times = interleaved_rounds({'copy': lambda: dst.copy_(src)}, rounds,
                               measure=synchronized(device, reps))
    return 2 * src.numel() * src.element_size() / times['copy'].median


def forward_backward(fn, x, rois, *args):
    """Callables running fn's forward, and its backward from a retained graph."""
    leaf = x.clone().requires_grad_()
    out = fn(leaf, rois, *args)
    grad = torch.ones_like(out)

    def backward():
        return torch.autograd.grad(out, leaf, grad, retain_graph=True)

    return (lambda: fn(x, rois, *args)), backward


def floor_bytes(op_name, x, rois, args):
    """Bytes that must move (forward, backward); distinct reads counted from our gradient of
    the output's sum."""
    leaf = x.clone().requires_grad_()
    out = OURS[op_name](leaf, rois, *args)
    (grad,) = torch.autograd.grad(out.sum(), leaf)
    touched = int((grad != 0).sum())
    item = x.element_size()
    forward = (touched + out.numel() + rois.numel()) * item
    backward = (out.numel() + rois.numel() + x.numel()) * item
    return forward, backward


def table_keys(device, dtypes):
    """The row keys of the printed table: README's CPU float32 layout, with a dtype column on a
    GPU or with other dtypes."""
    return (['op', 'classes', 'rois'] + (['threads'] if device.type == 'cpu' else [])
            + (['dtype'] if device.type != 'cpu' or dtypes != ['float32'] else [])
            + ['phase', 'peer'])


def table_header(keys):
    return '\n'.join(table([{'rois': 'RoIs'}.get(k, k) for k in keys] + [
        'ours ms', 'peer ms', 'speed-up', 'memory floor ms', 'ours / floor']))


def table_line(keys, r):
    floor = r['floor_ms'] is not None
    return row([r[k] for k in keys] + [
        f"{r['ours_ms']:.2f}", f"{r['peer_ms']:.2f}", f"**{r['speedup']:.2f}x**",
        f"{r['floor_ms']:.3f}" if floor else '-', f"{r['ours_over_floor']:.1f}x" if floor else '-'])


def inputs(classes, num_rois, device, dtype=torch.float32):
    """A map of the benchmark's size with k*k channels per class, RoIs, and their generator."""
    generator = torch.Generator().manual_seed(0)
    h, w = (s // 16 + (s % 16 > 0) for s in IMAGE_SIZE)
    x = torch.randn(1, classes * K * K, h, w, generator=generator).to(device, dtype)
    return x, make_rois(num_rois, generator).to(device, dtype), generator


def case_shape(args, op, classes, num_rois, dtype):
    threads = torch.get_num_threads() if args.device.type == 'cpu' else None
    return dict(op=op, classes=classes, rois=num_rois, threads=threads, dtype=dtype)


def timed_rows(shape, peer, ours, theirs, args, floors=(None, None)):
    """Forward and backward rows: our (forward, backward) callables against the peer's, timed
    in alternation; ``floors``: their memory floors in seconds, where known."""
    rows = []
    for phase, a, b, floor in zip(('forward', 'backward'), ours, theirs, floors):
        ours_s, peer_s, ratio = compare(a, b, args)
        rows.append(dict(shape, phase=phase, peer=peer, ours_ms=ours_s * 1e3,
                         peer_ms=peer_s * 1e3, speedup=ratio,
                         floor_ms=None if floor is None else floor * 1e3,
                         ours_over_floor=None if floor is None else ours_s / floor))
        print(table_line(args.table_keys, rows[-1]), flush=True)
    return rows


def run_case(case, peers, bandwidth, args):
    """Timing rows of one (op, classes, rois, dtype)."""
    op_name, classes, num_rois, dtype_name = case
    x, rois, _ = inputs(classes, num_rois, args.device, DTYPES[dtype_name])
    op_args = (K, SPATIAL_SCALE) if op_name == 'pool' else (K, SPATIAL_SCALE, 2)
    ours = forward_backward(OURS[op_name], x, rois, *op_args)
    floors = [b / bandwidth for b in floor_bytes(op_name, x, rois, op_args)]
    rows = []
    for peer_name, peer_ops in peers.items():
        if op_name in peer_ops:
            peer_x = x if peer_name in SAME_OP_PEERS else x[:, :classes].contiguous()
            theirs = forward_backward(peer_ops[op_name], peer_x, rois, *op_args)
            rows += timed_rows(case_shape(args, *case), peer_name, ours, theirs, args, floors)
    return rows


def run_deform_case(classes, num_rois, args):
    """deform_ps_roi_pool (map and offset gradients, class-specific offsets, 4 samples per
    part side) against our ps_roi_align with the same samples; no memory floor."""
    x, rois, generator = inputs(classes, num_rois, args.device)
    offset = (0.1 * torch.randn(num_rois, 2 * classes, K, K, generator=generator)).to(args.device)
    leaf_offset = offset.clone().requires_grad_()
    ours = forward_backward(
        lambda t, r: deform_ps_roi_pool(t, r, leaf_offset, K, SPATIAL_SCALE, sample_per_part=4),
        x, rois)
    theirs = forward_backward(ps_roi_align, x, rois, K, SPATIAL_SCALE, 4)
    return timed_rows(case_shape(args, 'deform', classes, num_rois, 'float32'),
                      'our ps_roi_align', ours, theirs, args)


def self_check(peer_name, peer_ops, args):
    """The first peer timed against itself the same way: the ratio should be ~1.0x."""
    x, rois, _ = inputs(21, 300, args.device)
    fn = lambda: peer_ops['align'](x, rois, K, SPATIAL_SCALE, 2)  # noqa: E731
    _, _, ratio = compare(fn, fn, args)
    print(f'self-check: {peer_name} ps_roi_align vs itself: {ratio:.2f}x')
    return ratio


def cases(args):
    ops = ('pool', 'align')
    if args.classes is None:  # README's CPU table: VOC at every RoI count, COCO at 300
        shapes = [(op, 21, n) for op in ops for n in args.rois]
        shapes += [(op, 81, 300) for op in ops]
    else:
        shapes = [(op, c, n) for c in args.classes for op in ops for n in args.rois]
    return [(*shape, dtype) for dtype in args.dtype for shape in shapes]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', type=arguments.device, default='cpu',
                        help='cpu (default) or cuda[:index]')
    parser.add_argument('--dtype', nargs='+', default=['float32'], choices=sorted(DTYPES))
    parser.add_argument('--classes', type=int, nargs='+',
                        help='class counts (incl. background) timed at every --rois; default: '
                             '21 at every --rois and 81 at 300')
    parser.add_argument('--rois', type=int, nargs='+', default=[300, 2000])
    parser.add_argument('--threads', type=int, nargs='+',
                        default=sorted({1, torch.get_num_threads()}), help='CPU only')
    parser.add_argument('--peers', nargs='+', choices=('torchvision', 'mmcv', 'ours'),
                        help="default: every importable one of torchvision and mmcv; 'ours' "
                             'times our op against itself (a dry run where none is importable)')
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--reps', type=int, default=5, help='calls per timed round')
    parser.add_argument('--self-check', action='store_true')
    parser.add_argument('--json', default='work_dirs/benchmark_op.json')
    args = parser.parse_args(argv)
    for name, value in (('--rounds', args.rounds), ('--reps', args.reps)):
        if value < 1:
            parser.error(f'{name} must be >= 1, got {value}')
    if any(n < 1 for n in args.threads + args.rois + (args.classes or [])):
        parser.error('--threads, --rois and --classes take positive integers')
    try:
        args.peer_ops = find_peers(args.peers)
    except RuntimeError as error:
        parser.error(f'--peers: {error}')
    return args


def settings(args):
    """Thread counts on the CPU (set in turn); a single pass on a GPU."""
    if args.device.type != 'cpu':
        yield str(args.device), f'{torch.cuda.get_device_name(args.device)}'
        return
    for threads in args.threads:
        torch.set_num_threads(threads)
        yield threads, f'{threads} thread(s)'


def main(argv=None):
    args = parse_args(argv)
    peers = args.peer_ops
    device = '' if args.device.type == 'cpu' else f'; device {args.device}'
    print(f'torch {torch.__version__}; peers found: {", ".join(peers) or "none"}{device}')
    if not peers:
        print('no peer importable (torchvision or mmcv): nothing to compare against')
    results = dict(torch=torch.__version__, device=str(args.device), dtypes=args.dtype,
                   peers=list(peers), rounds=args.rounds, reps=args.reps, rows=[], deform_rows=[],
                   bandwidth_gb_s={})
    args.table_keys = table_keys(args.device, args.dtype)
    for key, label in settings(args):
        bandwidth = copy_bandwidth(args.rounds, args.device)
        results['bandwidth_gb_s'][key] = bandwidth / 1e9
        print(f'\n{label}; large-copy bandwidth {bandwidth / 1e9:.1f} GB/s; '
              f'k={K}, 38x63 map, spatial_scale 1/16, align sampling_ratio 2\n')
        print(table_header(args.table_keys))
        for case in cases(args):
            results['rows'] += run_case(case, peers, bandwidth, args)
        results['deform_rows'] += run_deform_case((args.classes or [21])[0], args.rois[0], args)
    if args.self_check and peers:
        name = next(iter(peers))
        results['self_check_peer'] = name
        results['self_check_ratio'] = self_check(name, peers[name], args)
    write_json(args.json, results)
    print(f'\nwrote {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
