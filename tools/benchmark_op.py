"""Benchmark the PS RoI ops against their peers, as ratios measured in the same run.

Peers, where importable: torchvision's ``ps_roi_pool`` / ``ps_roi_align`` (same work), and,
for context, mmcv's ``roi_align`` producing the same number of output values (K, C_out, k, k)
from a C_out-channel map. Every time is the median over alternating rounds (ours, peer, ours,
peer, ...) after a warm-up; the ratio is peer time / our time (> 1: we are faster).

Memory floor: the bytes an implementation cannot avoid moving (forward: the distinct input
elements some bin reads + rois + output; backward: grad_output + rois + the whole grad_input,
which must be written), over the bandwidth of a large ``copy_`` measured in the same run.

Usage:
    python tools/benchmark_op.py                 # R-FCN VOC and COCO shapes, 1 and all threads
    python tools/benchmark_op.py --quick         # fewer rounds
    python tools/benchmark_op.py --self-check    # also time torchvision against itself (~1.0x)

Deformable PS RoI pooling has no peer: it is timed against our ps_roi_align with
``sampling_ratio = sample_per_part`` (the same samples without offsets), in Deformable R-FCN's
class-specific setting (k=7, 4 samples per part side, one offset group per class).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mmdet_psroi.ops import deform_ps_roi_pool, ps_roi_align, ps_roi_pool  # noqa: E402

SPATIAL_SCALE = 1 / 16
K = 7
IMAGE_SIZE = (600, 1000)  # (h, w) -> a 38x63 map at stride 16


def find_peers():
    peers = {}
    try:
        import torchvision.ops as tv_ops
        peers['torchvision'] = {'pool': tv_ops.ps_roi_pool, 'align': tv_ops.ps_roi_align}
    except Exception:  # noqa: BLE001 (torchvision absent or not loadable beside this torch)
        pass
    try:
        from mmcv.ops import roi_align
        peers['mmcv RoIAlign'] = {
            'align': lambda x, rois, k, scale, ratio: roi_align(x, rois, k, scale, ratio, 'avg',
                                                                True)}
    except Exception:  # noqa: BLE001
        pass
    return peers


def make_rois(num, generator):
    """Boxes of 16..400 px anywhere on a 600x1000 image, as (K, 5) rois of image 0."""
    h, w = IMAGE_SIZE
    size = 16 + torch.rand(num, 2, generator=generator) * 384
    xy = torch.rand(num, 2, generator=generator) * (torch.tensor([w, h]) - size)
    return torch.cat([torch.zeros(num, 1), xy, xy + size], dim=1)


def timed(fn, reps):
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def compare(ours, peer, rounds, reps):
    """Median times (s) of two callables measured in alternation, and the median ratio."""
    for _ in range(2):
        ours(), peer()
    ours_t, peer_t, ratios = [], [], []
    for _ in range(rounds):
        a, b = timed(ours, reps), timed(peer, reps)
        ours_t.append(a)
        peer_t.append(b)
        ratios.append(b / a)
    return statistics.median(ours_t), statistics.median(peer_t), statistics.median(ratios)


def copy_bandwidth(rounds):
    """Bytes per second of a 256 MB tensor copy (read + write)."""
    src = torch.ones(64 * 1024 * 1024)
    dst = torch.empty_like(src)
    dst.copy_(src)
    seconds = statistics.median(timed(lambda: dst.copy_(src), 1) for _ in range(rounds))
    return 2 * src.numel() * src.element_size() / seconds


def forward_backward(fn, x, rois, *args):
    """Callables running fn's forward, and its backward from a retained graph."""
    leaf = x.clone().requires_grad_()
    out = fn(leaf, rois, *args)
    grad = torch.ones_like(out)

    def backward():
        return torch.autograd.grad(out, leaf, grad, retain_graph=True)

    return (lambda: fn(x, rois, *args)), backward


def floor_bytes(op_name, x, rois, args):
    """Bytes that must move (forward, backward); distinct reads counted from our gradient."""
    fn = ps_roi_pool if op_name == 'pool' else ps_roi_align
    leaf = x.clone().requires_grad_()
    out = fn(leaf, rois, *args)
    out.backward(torch.ones_like(out))
    touched = int((leaf.grad != 0).sum())
    item = x.element_size()
    forward = (touched + out.numel() + rois.numel()) * item
    backward = (out.numel() + rois.numel() + x.numel()) * item
    return forward, backward


def run_case(op_name, classes, num_rois, threads, peers, bandwidth, args):
    generator = torch.Generator().manual_seed(0)
    h, w = (s // 16 + (s % 16 > 0) for s in IMAGE_SIZE)
    x = torch.randn(1, classes * K * K, h, w, generator=generator)
    rois = make_rois(num_rois, generator)
    op_args = (K, SPATIAL_SCALE) if op_name == 'pool' else (K, SPATIAL_SCALE, 2)
    ours = ps_roi_pool if op_name == 'pool' else ps_roi_align
    ours_fwd, ours_bwd = forward_backward(ours, x, rois, *op_args)
    floor_fwd, floor_bwd = (b / bandwidth for b in floor_bytes(op_name, x, rois, op_args))
    rows = []
    for peer_name, peer_ops in peers.items():
        if op_name not in peer_ops:
            continue
        peer_x = x if peer_name == 'torchvision' else x[:, :classes].contiguous()
        peer_fwd, peer_bwd = forward_backward(peer_ops[op_name], peer_x, rois, *op_args)
        for phase, a, b, floor in (('forward', ours_fwd, peer_fwd, floor_fwd),
                                   ('backward', ours_bwd, peer_bwd, floor_bwd)):
            ours_s, peer_s, ratio = compare(a, b, args.rounds, args.reps)
            rows.append(dict(op=op_name, classes=classes, rois=num_rois, threads=threads,
                             phase=phase, peer=peer_name, ours_ms=ours_s * 1e3,
                             peer_ms=peer_s * 1e3, speedup=ratio, floor_ms=floor * 1e3,
                             ours_over_floor=ours_s / floor))
            print(f"| {op_name} | {classes} | {num_rois} | {threads} | {phase} | {peer_name} | "
                  f"{ours_s * 1e3:.2f} | {peer_s * 1e3:.2f} | **{ratio:.2f}x** | "
                  f"{floor * 1e3:.3f} | {ours_s / floor:.1f}x |", flush=True)
    return rows


def run_deform_case(classes, num_rois, threads, args):
    """deform_ps_roi_pool (offsets and map gradients) against ps_roi_align, same samples."""
    generator = torch.Generator().manual_seed(0)
    h, w = (s // 16 + (s % 16 > 0) for s in IMAGE_SIZE)
    x = torch.randn(1, classes * K * K, h, w, generator=generator)
    rois = make_rois(num_rois, generator)
    offset = (0.1 * torch.randn(num_rois, 2 * classes, K, K, generator=generator))
    leaf_offset = offset.clone().requires_grad_()
    ours_fwd, ours_bwd = forward_backward(
        lambda t, r: deform_ps_roi_pool(t, r, leaf_offset, K, SPATIAL_SCALE, sample_per_part=4),
        x, rois)
    peer_fwd, peer_bwd = forward_backward(ps_roi_align, x, rois, K, SPATIAL_SCALE, 4)
    for phase, a, b in (('forward', ours_fwd, peer_fwd), ('backward', ours_bwd, peer_bwd)):
        ours_s, peer_s, ratio = compare(a, b, args.rounds, args.reps)
        print(f'| deform | {classes} | {num_rois} | {threads} | {phase} | our ps_roi_align | '
              f'{ours_s * 1e3:.2f} | {peer_s * 1e3:.2f} | **{ratio:.2f}x** | - | - |', flush=True)


def self_check(args):
    """torchvision timed against itself the same way: the ratio should be ~1.0x."""
    import torchvision.ops as tv_ops
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 21 * K * K, 38, 63, generator=generator)
    rois = make_rois(300, generator)
    fn = lambda: tv_ops.ps_roi_align(x, rois, K, SPATIAL_SCALE, 2)  # noqa: E731
    _, _, ratio = compare(fn, fn, args.rounds, args.reps)
    print(f'self-check: torchvision ps_roi_align vs itself: {ratio:.2f}x')
    return ratio


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rois', type=int, nargs='+', default=[300, 2000])
    parser.add_argument('--threads', type=int, nargs='+',
                        default=sorted({1, torch.get_num_threads()}))
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--reps', type=int, default=5, help='calls per timed round')
    parser.add_argument('--quick', action='store_true', help='3 rounds of 2 calls')
    parser.add_argument('--self-check', action='store_true')
    parser.add_argument('--json', default='work_dirs/benchmark_op.json')
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.reps = 3, 2
    for name, value in (('--rounds', args.rounds), ('--reps', args.reps)):
        if value < 1:
            parser.error(f'{name} must be >= 1, got {value}')
    if any(t < 1 for t in args.threads) or any(r < 1 for r in args.rois):
        parser.error('--threads and --rois take positive integers')

    peers = find_peers()
    print(f'torch {torch.__version__}; peers found: {", ".join(peers) or "none"}')
    if not peers:
        print('no peer importable (torchvision or mmcv): nothing to compare against')
    cases = [(op, 21, n) for op in ('pool', 'align') for n in args.rois]
    cases += [(op, 81, 300) for op in ('pool', 'align')]
    results = dict(torch=torch.__version__, peers=list(peers), rows=[], bandwidth_gb_s={})
    for threads in args.threads:
        torch.set_num_threads(threads)
        bandwidth = copy_bandwidth(args.rounds)
        results['bandwidth_gb_s'][threads] = bandwidth / 1e9
        print(f'\n{threads} thread(s); large-copy bandwidth {bandwidth / 1e9:.1f} GB/s; '
              f'k={K}, 38x63 map, spatial_scale 1/16, align sampling_ratio 2\n')
        print('| op | classes | RoIs | threads | phase | peer | ours ms | peer ms | speed-up '
              '| memory floor ms | ours / floor |')
        print('|---|---|---|---|---|---|---|---|---|---|---|')
        for op_name, classes, num_rois in cases:
            results['rows'] += run_case(op_name, classes, num_rois, threads, peers, bandwidth,
                                        args)
        run_deform_case(21, 300, threads, args)
    if args.self_check and 'torchvision' in peers:
        results['self_check_ratio'] = self_check(args)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, 'w') as f:
        json.dump(results, f, indent=2)
    print(f'\nwrote {args.json}')


if __name__ == '__main__':
    main()
