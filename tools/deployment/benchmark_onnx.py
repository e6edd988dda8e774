"""Speed of an exported detector on CPU runtimes against PyTorch eager, and of the PS RoI stage's
graph against the compiled op: a checkpoint and its graph on the test images, or random weights
exported here (docs/deployment.md).
"""
import argparse
import io
import itertools
import statistics
import subprocess
import sys
import tempfile
import warnings

import torch

from mmdet_psroi_tools import onnx_runtime
from mmdet_psroi_tools.arguments import at_least, existing_file
from mmdet_psroi_tools.timing import interleaved_rounds, per_round_ratio

RUNTIMES = ('pytorch', ) + onnx_runtime.BACKENDS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='ONNX runtimes against PyTorch eager')
    parser.add_argument('config', type=existing_file)
    parser.add_argument('checkpoint', nargs='?', type=existing_file,
                        help='trained weights (none: random weights)')
    parser.add_argument('model', nargs='?', type=existing_file,
                        help='the .onnx file exported from CONFIG and CHECKPOINT')
    parser.add_argument('--runtimes', nargs='+', type=onnx_runtime.installed, choices=RUNTIMES,
                        default=['pytorch', 'onnxruntime'], help='timed in the same rounds')
    parser.add_argument('--threads', type=at_least(1), default=1,
                        help='of each: torch.set_num_threads, onnxruntime intra-op, OpenVINO')
    parser.add_argument('--rounds', type=at_least(1),
                        help='default: 7 with a checkpoint, 3 with random weights')
    parser.add_argument('--images', type=at_least(0), help='test images used (default: all)')
    parser.add_argument('--input-shape', type=at_least(32), nargs=2, metavar=('H', 'W'),
                        help='random weights: the noise image (default: 800 1333)')
    parser.add_argument('--proposals', type=at_least(1),
                        help="random weights: the RPN's max_per_img (default: 1000)")
    parser.add_argument('--exporter', type=onnx_runtime.exporter,
                        metavar='{auto,dynamo,torchscript}',
                        help='random weights: of the detector and RoI stage (default: auto)')
    parser.add_argument('--roi-stage', action='store_true', help='also time the RoI stage')
    parser.add_argument('--roi-stage-only', action='store_true')
    parser.add_argument('--profile', action='store_true',
                        help="the RoI stage graph's slowest nodes (onnxruntime's profiler)")
    parser.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE')
    # internal: one runtime's peak memory in a fresh process, with the exported file
    parser.add_argument('--peak-memory-of', choices=RUNTIMES + ('import-only', ),
                        help=argparse.SUPPRESS)
    parser.add_argument('--onnx', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if (args.checkpoint is None) != (args.model is None):
        parser.error('CHECKPOINT and MODEL.onnx go together (neither: random weights)')
    if args.checkpoint and (args.input_shape or args.proposals or args.exporter):
        parser.error('--input-shape, --proposals, --exporter: only without CHECKPOINT')
    if args.checkpoint is None and args.images is not None:
        parser.error('--images: only with a CHECKPOINT (random weights run one noise image)')
    args.runtimes = list(dict.fromkeys(args.runtimes))  # each once, in the order given
    args.cfg_texts, args.cfg_options = args.cfg_options, None
    if args.cfg_texts:  # mmengine imported only when needed (peak memory processes)
        from mmengine.config import DictAction

        DictAction([], 'cfg_options')(parser, args, args.cfg_texts)
    args.exporter = args.exporter or onnx_runtime.exporter('auto')
    args.rounds = args.rounds or (7 if args.checkpoint else 3)
    args.input_shape, args.proposals = args.input_shape or (800, 1333), args.proposals or 1000
    return args


def random_model(args):
    """The model with ``--proposals`` and random weights, and a test batch of the noise image:
    ``(model, [batch])``."""
    from mmdet.structures import DetDataSample

    cfg = onnx_runtime.load_config(args.config, args.cfg_options)
    cfg.model.test_cfg.rpn.max_per_img = args.proposals
    sample = DetDataSample(metainfo=dict(img_shape=tuple(args.input_shape), scale_factor=(1., 1.),
                                         ori_shape=tuple(args.input_shape)))
    image = onnx_runtime.noise_image(*args.input_shape)[0]
    return onnx_runtime.load_pytorch_model(cfg), [dict(inputs=[image], data_samples=[sample])]


def repeated(fn, arguments):
    """A callable calling ``fn(*args)`` for each tuple of ``arguments``, results dropped."""
    def run():
        for args in arguments:
            fn(*args)

    return run


def report(title, runs, rounds, per, ratios):
    """Times ``runs`` (``{name: callable}``, ``per`` calls each) in interleaved rounds; prints each
    time per call and the per-round time ratios ``(slow, fast)``."""
    times = interleaved_rounds(runs, rounds)
    print(title)
    for name, timing in times.items():
        ms = [1000 * s / per for s in timing.values]
        print(f'  {name:20s} {statistics.median(ms):8.2f} ms [{min(ms):.2f}, {max(ms):.2f}] per '
              f'call, median [min, max] over {len(ms)} rounds')
    for slow, fast in ratios:
        ratio = per_round_ratio(times[slow], times[fast])
        print(f'  time ratio {slow} / {fast}: {ratio.median:.2f}x [{ratio.low:.2f}, '
              f'{ratio.high:.2f}]')


def whole_detector(args, model, batches, tmp):
    """Prints the latency of each runtime; returns the graph's path (exported into ``tmp`` with
    random weights)."""
    from mmdet_psroi.deploy import ExportableDetector

    source, onnx_path = f'{len(batches)} test images', args.model
    if args.checkpoint is None:
        onnx_path = f'{tmp}/model.onnx'
        image = batches[0]['inputs'][0][None]
        onnx_runtime.export_detector(ExportableDetector(model), image, onnx_path, args.exporter)
        source = (f'random weights, image {tuple(image.shape)}, {args.proposals} proposals, '
                  f'{args.exporter} exporter (opset {onnx_runtime.MIN_OPSET[args.exporter]})')
    print(f'{args.config}: {source}, {args.threads} thread(s), torch {torch.__version__}, '
          f'{args.rounds} interleaved rounds')
    runs = {}
    for name in args.runtimes:
        if name == 'pytorch':
            runs[name] = repeated(model.test_step, [(batch, ) for batch in batches])
            continue
        session = onnx_runtime.inference_session(onnx_path, name, args.threads)
        onnx_runtime.check_graph(session)
        runs[name] = repeated(onnx_runtime.run_onnx, [(session, batch) for batch in batches])
    report('whole detector (per image)', runs, args.rounds, len(batches),
           [('pytorch', name) for name in runs if name != 'pytorch' and 'pytorch' in runs])
    return onnx_path


def peak_memory(args, onnx_path):
    """Prints the peak memory of a fresh process per runtime (``print_peak_memory``)."""
    settings = [args.config, '--threads', str(args.threads), '--proposals', str(args.proposals),
                '--input-shape', *map(str, args.input_shape), '--onnx', onnx_path]
    peaks = {}
    for runtime in ('import-only', *args.runtimes):
        builds = runtime == 'pytorch' and args.cfg_texts  # the config's options, where used
        output = subprocess.run([sys.executable, __file__, *settings, '--peak-memory-of', runtime,
                                 *(['--cfg-options', *args.cfg_texts] if builds else [])],
                                check=True, capture_output=True, text=True).stdout
        peaks[runtime] = float(output.split()[-1])
    print('peak resident memory of a process that loads and runs the model twice, MiB: '
          + ', '.join(f'{name} {peak:.0f}' for name, peak in peaks.items()))


def print_peak_memory(args):
    """This process's peak resident memory (``VmHWM``; ``ru_maxrss`` would carry the parent's
    over) after two runs of ``--peak-memory-of`` (import-only: none), MiB."""
    if args.peak_memory_of == 'pytorch':
        model, [batch] = random_model(args)
        repeated(model.test_step, [(batch, )] * 2)()
    elif args.peak_memory_of in onnx_runtime.BACKENDS:
        session = onnx_runtime.inference_session(args.onnx, args.peak_memory_of, args.threads)
        feeds = {'image': onnx_runtime.noise_image(*args.input_shape).numpy()}
        repeated(session.run, [(None, feeds)] * 2)()
    with open('/proc/self/status') as status:
        print(int(next(line.split()[1] for line in status if line.startswith('VmHWM:'))) / 1024)


def roi_stages(args, model, batch):
    """[(title, compiled op, graph module, inputs, input names, exporter, its dynamic axes)]: with
    a checkpoint, each PS RoI layer call (the layer's TorchScript graph); with random weights,
    the extractor's first call (``ps_extractor_pool``: every level, the RoIs' number dynamic)."""
    from mmdet_psroi.deploy.roi_pooling import ps_extractor_pool
    from mmdet_psroi.models.roi_extractors.ps_roi_extractor import PSRoIExtractor
    from mmdet_psroi.ops import DeformPSRoIPool, PSRoIAlign, PSRoIPool

    if args.checkpoint:
        modules = [m for m in model.modules()
                   if isinstance(m, (PSRoIPool, PSRoIAlign, DeformPSRoIPool))]
    else:
        extractor = model.roi_head.bbox_roi_extractor
        modules = [extractor] if isinstance(extractor, PSRoIExtractor) else []
    calls = []  # (module, its positional inputs) of each call in one test step
    hooks = [module.register_forward_hook(lambda m, inputs, out: calls.append((m, inputs)))
             for module in modules]
    try:
        model.test_step(batch)
    finally:
        for hook in hooks:
            hook.remove()
    if args.checkpoint:
        calls = [(m, tuple(x for x in inputs if x is not None)) for m, inputs in calls]
        return [(repr(m), m, m, inputs, ['input', 'rois', 'offset'][:len(inputs)], 'torchscript',
                 {}) for m, inputs in calls]
    if not calls:
        return []
    maps, rois = calls[0][1][:2]

    class Pool(torch.nn.Module):
        def forward(self, *inputs):
            return ps_extractor_pool(extractor, inputs[:-1], inputs[-1])

    dynamic = (dict(dynamic_shapes=(({}, ) * len(maps) + ({0: torch.export.Dim.DYNAMIC}, ), ))
               if args.exporter == 'dynamo' else dict(dynamic_axes=dict(rois={0: 'k'})))
    return [(repr(extractor.roi_layers[0]), lambda *inputs: extractor(inputs[:-1], inputs[-1]),
             Pool(), (*maps, rois), [f'map{i}' for i in range(len(maps))] + ['rois'],
             args.exporter, dynamic)]


def roi_stage(args, model, batch):
    """Times each RoI stage: the compiled op against its graph on each runtime."""
    stages = roi_stages(args, model, batch)
    if not stages:
        print('RoI stage: the model has no position-sensitive RoI layer (nothing to compare)')
    calls = 20 if args.checkpoint else 1  # per round: a layer on small test images is fast
    backends = [name for name in args.runtimes if name != 'pytorch']
    for title, compiled, module, inputs, names, exporter, dynamic in stages:
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.onnx.export(module, inputs, buffer, input_names=names, **dynamic,
                              opset_version=onnx_runtime.MIN_OPSET[exporter],
                              **onnx_runtime.exporter_options(exporter))
        feeds = {name: x.numpy() for name, x in zip(names, inputs)}
        timed = {'compiled op': repeated(compiled, [inputs] * calls)}
        for backend in backends:
            session = onnx_runtime.inference_session(buffer.getvalue(), backend, args.threads)
            timed[f'graph ({backend})'] = repeated(session.run, [(None, feeds)] * calls)
        report(f'RoI stage: {title} on {", ".join(str(tuple(x.shape)) for x in inputs)}',
               timed, args.rounds, calls,
               [(f'graph ({backend})', 'compiled op') for backend in backends])
        if args.profile:
            nodes = onnx_runtime.profiled_nodes(buffer.getvalue(), feeds, args.threads)
            total = sum(ms for ms, _, _ in nodes)
            print(f'  graph profile (onnxruntime), second run of a session: {total:.1f} ms in '
                  f'{len(nodes)} nodes; slowest:')
            for ms, op_type, name in nodes[:8]:
                print(f'    {ms:9.1f} ms {100 * ms / total:5.1f} %  {op_type} {name}')


@torch.no_grad()
def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.peak_memory_of:
        return print_peak_memory(args)
    if args.checkpoint:
        cfg = onnx_runtime.load_config(args.config, args.cfg_options)
        batches = list(itertools.islice(onnx_runtime.build_test_dataloader(cfg),
                                        args.images or None))
        model = onnx_runtime.load_pytorch_model(cfg, args.checkpoint)
    else:
        model, batches = random_model(args)
    if not args.roi_stage_only:
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = whole_detector(args, model, batches, tmp)  # its sessions freed here
            if args.checkpoint is None:
                peak_memory(args, onnx_path)
    if args.roi_stage or args.roi_stage_only:
        roi_stage(args, model, batches[0])


if __name__ == '__main__':
    main()
