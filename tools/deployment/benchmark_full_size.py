"""A detector exported at full image size, with random weights (no checkpoint, no dataset):
latency and peak memory of onnxruntime (and OpenVINO, where installed) against PyTorch eager,
and the position-sensitive RoI stage of the graph against the compiled op.

    python tools/deployment/benchmark_full_size.py CONFIG [--input-shape 800 1333]
        [--proposals 1000] [--threads 1] [--rounds 3] [--exporter auto|dynamo|torchscript]
        [--runtimes pytorch onnxruntime openvino] [--roi-stage-only] [--profile]

The model is the config's, as built (PyTorch's default initialisation, seed 0; no pretrained
weights), with ``test_cfg.rpn.max_per_img = --proposals``; the image is uniform noise of
``--input-shape``. Printed:

- latency: ms per image of each runtime, median [min, max] over interleaved rounds
  (``mmdet_psroi_tools.timing``), after one warm-up run each; the same image every run;
- peak memory: the peak resident set (``VmHWM``, Linux) of a fresh process that loads the model
  and runs it twice, per runtime (PyTorch: builds the model; onnxruntime / OpenVINO: loads the
  exported file), and of one that only imports the runtime, for reference;
- RoI stage: the extractor's pooling of the RoIs of that image, the compiled op
  (``PSRoIExtractor.pool``) against the graph (``mmdet_psroi.deploy.roi_pooling``), exported
  alone and run by onnxruntime; with ``--profile``, also the graph's slowest nodes in a second
  run of a new session (onnxruntime's profiler), ms and share of the nodes' total.

``--roi-stage-only`` skips the latency and memory of the whole model (the RoIs still come from
a PyTorch run of it).
"""
import argparse
import os.path as osp
import subprocess
import sys
import tempfile

from mmdet_psroi_tools import onnx_runtime
from mmdet_psroi_tools.timing import interleaved_rounds, per_round_ratio

RUNTIMES = ('pytorch', 'onnxruntime', 'openvino')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='full-size export: latency, memory, RoI stage')
    parser.add_argument('config')
    parser.add_argument('--input-shape', type=int, nargs=2, default=(800, 1333),
                        metavar=('H', 'W'))
    parser.add_argument('--proposals', type=int, default=1000,
                        help='the RPN\'s max_per_img (RoIs per image)')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--exporter', choices=('auto', ) + onnx_runtime.EXPORTERS,
                        default='auto')
    parser.add_argument('--runtimes', nargs='+', choices=RUNTIMES,
                        default=['pytorch', 'onnxruntime'])
    parser.add_argument('--roi-stage-only', action='store_true',
                        help='only the RoI stage (no whole-model latency or memory)')
    parser.add_argument('--profile', action='store_true',
                        help="print the RoI stage graph's slowest nodes (onnxruntime's profiler)")
    # internal: one runtime's peak memory, in a fresh process
    parser.add_argument('--peak-memory-of', choices=RUNTIMES + ('import-only', ),
                        help=argparse.SUPPRESS)
    parser.add_argument('--model', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not osp.isfile(args.config):
        raise SystemExit(f'config file not found: {args.config}')
    if min(args.input_shape) < 32 or args.proposals < 1 or args.threads < 1 or args.rounds < 1:
        raise SystemExit('--input-shape must be >= 32, --proposals, --threads and --rounds >= 1')
    if args.exporter == 'auto':
        args.exporter = (onnx_runtime.available_exporters() or ['torchscript'])[0]
    return args


def build_model(config, proposals):
    import torch
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import mmdet_psroi.plugin  # noqa: F401

    register_all_modules()
    cfg = Config.fromfile(config)
    cfg.model.test_cfg.rpn.max_per_img = proposals
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def noise_image(height, width):
    import torch

    return torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0)) * 255


def runner(runtime, model_or_path, threads):
    """``run(image)`` of ``runtime`` for a (1, 3, H, W) float tensor."""
    import numpy as np

    if runtime == 'pytorch':
        import torch
        from mmdet.structures import DetDataSample

        def run(image):
            h, w = image.shape[2:]
            sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                                 scale_factor=(1., 1.)))
            data = model_or_path.data_preprocessor(dict(inputs=[image[0]],
                                                        data_samples=[sample]), False)
            with torch.no_grad():
                return model_or_path.predict(data['inputs'], data['data_samples'])

        return run
    if runtime == 'onnxruntime':
        session = onnx_runtime.ort_session(model_or_path, threads)
        return lambda image: session.run(None, {'image': image.numpy()})
    import openvino

    compiled = openvino.Core().compile_model(
        model_or_path, 'CPU', {'INFERENCE_PRECISION_HINT': 'f32',
                               'INFERENCE_NUM_THREADS': threads})
    return lambda image: compiled(np.ascontiguousarray(image.numpy()))


def peak_memory(args, onnx_path):
    """MiB of peak resident memory per runtime, each in a fresh process."""
    peaks = {}
    for runtime in ('import-only', ) + tuple(args.runtimes):
        output = subprocess.run(
            [sys.executable, __file__, args.config, '--peak-memory-of', runtime, '--model',
             onnx_path, '--threads', str(args.threads), '--proposals', str(args.proposals),
             '--input-shape', *map(str, args.input_shape)],
            check=True, capture_output=True, text=True).stdout
        peaks[runtime] = float(output.strip().splitlines()[-1])
    return peaks


def measure_peak_memory(args):
    import torch

    torch.set_num_threads(args.threads)
    if args.peak_memory_of != 'import-only':
        model = (build_model(args.config, args.proposals) if args.peak_memory_of == 'pytorch'
                 else args.model)
        run = runner(args.peak_memory_of, model, args.threads)
        for _ in range(2):
            run(noise_image(*args.input_shape))
    print(peak_resident_mib())


def peak_resident_mib():
    """This process's peak resident memory (``VmHWM``; not ``ru_maxrss``, which Linux carries
    over from the parent that started the process), MiB."""
    with open('/proc/self/status') as status:
        kib = next(line.split()[1] for line in status if line.startswith('VmHWM:'))
    return int(kib) / 1024


def captured_extractor_inputs(model, image):
    """(extractor, its maps, its RoIs) of the RoI head's first pooling call for ``image``."""
    calls = []
    extractor = model.roi_head.bbox_roi_extractor
    hook = extractor.register_forward_pre_hook(lambda m, inputs: calls.append(inputs))
    try:
        runner('pytorch', model, 1)(image)
    finally:
        hook.remove()
    maps, rois = calls[0][:2]
    return extractor, tuple(maps), rois


def roi_stage(model, image, args):
    import io

    import torch

    from mmdet_psroi.deploy.roi_pooling import ps_extractor_pool

    extractor, maps, rois = captured_extractor_inputs(model, image)
    names = [f'map{i}' for i in range(len(maps))] + ['rois']

    class Pool(torch.nn.Module):
        def forward(self, *inputs):
            return ps_extractor_pool(extractor, inputs[:-1], inputs[-1])

    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(Pool(), (*maps, rois), buffer, input_names=names,
                          opset_version=onnx_runtime.DYNAMO_MIN_OPSET
                          if args.exporter == 'dynamo' else 17,
                          dynamic_axes=dict(rois={0: 'k'}),
                          **onnx_runtime.exporter_options(args.exporter))
    session = onnx_runtime.ort_session(buffer.getvalue(), args.threads)
    feeds = {name: x.numpy() for name, x in zip(names, (*maps, rois))}

    def compiled():
        with torch.no_grad():
            extractor(maps, rois)

    times = interleaved_rounds({'compiled op': compiled,
                                'graph': lambda: session.run(None, feeds)}, args.rounds)
    print(f'RoI stage: {len(rois)} RoIs, maps {[tuple(m.shape) for m in maps]}, '
          f'{extractor.roi_layers[0]!r}')
    for name, value in times.items():
        print(f'  {name:12s} {_ms(value)} ms per call')
    print(f'  graph / compiled op: {per_round_ratio(times["graph"], times["compiled op"])}')
    if args.profile:
        print_profile(onnx_runtime.profiled_nodes(buffer.getvalue(), feeds, args.threads))


def print_profile(nodes, top=8):
    total = sum(ms for ms, _, _ in nodes)
    print(f'  graph profile, second run of a session: {total:.1f} ms in {len(nodes)} nodes; '
          'slowest:')
    for ms, op_type, name in nodes[:top]:
        print(f'    {ms:9.1f} ms {100 * ms / total:5.1f} %  {op_type} {name}')


def _ms(rounds):
    return f'{1000 * rounds.median:.1f} [{1000 * rounds.low:.1f}, {1000 * rounds.high:.1f}]'


def main(argv=None):
    args = parse_args(argv)
    if args.peak_memory_of:
        return measure_peak_memory(args)
    import torch

    torch.set_num_threads(args.threads)
    model = build_model(args.config, args.proposals)
    image = noise_image(*args.input_shape)
    if not args.roi_stage_only:
        whole_model(model, image, args)
    roi_stage(model, image, args)


def whole_model(model, image, args):
    """Latency of each runtime and peak memory of the exported model."""
    import torch

    from mmdet_psroi.deploy import ExportableDetector

    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = osp.join(tmp, 'model.onnx')
        opset = onnx_runtime.DYNAMO_MIN_OPSET if args.exporter == 'dynamo' else 17
        onnx_runtime.export_detector(ExportableDetector(model), image, onnx_path, opset,
                                     args.exporter)
        print(f'{args.config}: random weights, image {tuple(image.shape)}, '
              f'{args.proposals} proposals, {args.exporter} exporter (opset {opset}), '
              f'{args.threads} thread(s), torch {torch.__version__}')
        runs = {name: runner(name, model if name == 'pytorch' else onnx_path, args.threads)
                for name in args.runtimes}
        times = interleaved_rounds({name: (lambda run=run: run(image))
                                    for name, run in runs.items()}, args.rounds)
        print(f'latency, ms per image, median [min, max] over {args.rounds} interleaved rounds')
        for name, value in times.items():
            ratio = ('' if name == 'pytorch' or 'pytorch' not in times else
                     f'   pytorch / {name}: {per_round_ratio(times["pytorch"], value)}')
            print(f'  {name:12s} {_ms(value)}{ratio}')
        del runs  # the sessions' memory, before the processes measuring peak memory start
        peaks = peak_memory(args, onnx_path)
        print('peak resident memory of a process that loads and runs the model twice, MiB: '
              + ', '.join(f'{name} {peak:.0f}' for name, peak in peaks.items()))


if __name__ == '__main__':
    main()
