"""Speed of an exported detector in onnxruntime (CPU execution provider) against the PyTorch
model in eager mode, on the config's test images, with the same thread count.

    python tools/deployment/benchmark_onnx.py CONFIG CHECKPOINT MODEL.onnx [--threads 1]
        [--rounds 7] [--images 12] [--roi-stage] [--cfg-options k=v ...]

Both start from the test pipeline's output (the resized image) and end with detections in
original-image pixels: PyTorch runs ``model.test_step`` (preprocessing included), onnxruntime
the graph plus the division by the scale factor (tools/deployment/test_onnx.py). Each round
times one pass of each over the same images, in the same order every round (interleaved
rounds, ``mmdet_psroi_tools.timing``), after one warm-up pass each. Printed: ms per image
(median and range over rounds) and the time ratio PyTorch / onnxruntime per round (the speed-up of
onnxruntime; median and range).

``--roi-stage``: the cost of the position-sensitive RoI op's standard-operator decomposition
against the compiled op, on the inputs the model's RoI head gives it for the first image (the
op is exported alone with the TorchScript exporter and timed the same way).
"""
import argparse
import os.path as osp
import statistics

from mmdet_psroi_tools.onnx_runtime import (
    check_graph,
    load_pytorch_model,
    ort_session,
    run_onnx,
    torchscript_exporter,
)
from mmdet_psroi_tools.timing import interleaved_rounds

ROI_STAGE_CALLS = 20  # calls of the RoI op per timed round


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='onnxruntime against PyTorch eager')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('model', help='the .onnx file exported from CONFIG and CHECKPOINT')
    parser.add_argument('--threads', type=int, default=1,
                        help='threads of both: torch.set_num_threads, onnxruntime intra-op')
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--images', type=int, default=0, help='test images used (0: all)')
    parser.add_argument('--roi-stage', action='store_true',
                        help='also time the PS RoI op: compiled against its ONNX graph')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    for name in ('config', 'checkpoint', 'model'):
        if not osp.isfile(getattr(args, name)):
            raise SystemExit(f'{name} file not found: {getattr(args, name)}')
    if args.threads < 1 or args.rounds < 1 or args.images < 0:
        raise SystemExit('--threads and --rounds must be >= 1, --images >= 0')
    return args


def summary(seconds, per=1):
    ms = [1000 * s / per for s in seconds]
    return f'{statistics.median(ms):8.2f} ms [{min(ms):.2f}, {max(ms):.2f}]'


def ratio_summary(slow, fast):
    ratios = [s / f for s, f in zip(slow, fast)]
    return f'{statistics.median(ratios):.2f}x [{min(ratios):.2f}, {max(ratios):.2f}]'


def report(title, times, per, names):
    print(title)
    for name in names:
        print(f'  {name:12s} {summary(times[name].values, per)} per call, median [min, max] '
              f'over {len(times[name].values)} rounds')
    print(f'  time ratio {names[0]} / {names[1]}: '
          f'{ratio_summary(times[names[0]].values, times[names[1]].values)}')


def roi_layers(model):
    from mmdet_psroi.ops import DeformPSRoIPool, PSRoIAlign, PSRoIPool

    return [m for m in model.modules() if isinstance(m, (PSRoIPool, PSRoIAlign, DeformPSRoIPool))]


def capture_roi_inputs(model, data_batch):
    """(layer, its positional inputs) for every PS RoI layer call of one test step."""
    import torch

    calls = []
    hooks = [layer.register_forward_hook(lambda m, inputs, out: calls.append((m, inputs)))
             for layer in roi_layers(model)]
    try:
        with torch.no_grad():
            model.test_step(data_batch)
    finally:
        for hook in hooks:
            hook.remove()
    return calls


def roi_stage(model, data_batch, threads, rounds):
    """Times each PS RoI layer call of one image: the compiled op against its ONNX graph."""
    import io
    import warnings

    import torch

    calls = capture_roi_inputs(model, data_batch)
    if not calls:
        print('RoI stage: the model has no position-sensitive RoI layer (nothing to compare)')
        return
    for layer, inputs in calls:
        inputs = tuple(x for x in inputs if x is not None)
        buffer = io.BytesIO()
        names = ['input', 'rois', 'offset'][:len(inputs)]
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter('ignore')
            torch.onnx.export(layer, inputs, buffer, opset_version=17, **torchscript_exporter(),
                              input_names=names)
        session = ort_session(buffer.getvalue(), threads)
        feeds = {n: x.numpy() for n, x in zip(names, inputs)}
        def native(layer=layer, inputs=inputs):
            with torch.no_grad():
                for _ in range(ROI_STAGE_CALLS):
                    layer(*inputs)

        def graph(session=session, feeds=feeds):
            for _ in range(ROI_STAGE_CALLS):
                session.run(None, feeds)

        shapes = ', '.join(str(tuple(x.shape)) for x in inputs)
        times = interleaved_rounds({'compiled op': native, 'onnx graph': graph}, rounds)
        report(f'RoI stage: {layer!r} on {shapes}', times, ROI_STAGE_CALLS,
               ['onnx graph', 'compiled op'])


def main(argv=None):
    args = parse_args(argv)
    import copy
    import itertools

    import torch
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmdet_psroi.plugin  # noqa: F401

    register_all_modules()
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    dataloader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader))
    batches = list(itertools.islice(dataloader, args.images or None))
    model = load_pytorch_model(cfg, args.checkpoint)
    session = ort_session(args.model, args.threads)
    check_graph(session)

    def pytorch():
        with torch.no_grad():
            for batch in batches:
                model.test_step(batch)

    def onnxruntime():
        for batch in batches:
            run_onnx(session, batch)

    print(f'{args.config}: {len(batches)} images, {args.threads} thread(s), torch '
          f'{torch.__version__}, {args.rounds} interleaved rounds')
    times = interleaved_rounds({'pytorch': pytorch, 'onnxruntime': onnxruntime}, args.rounds)
    report('whole detector (per image)', times, len(batches), ['pytorch', 'onnxruntime'])
    if args.roi_stage:
        roi_stage(model, batches[0], args.threads, args.rounds)


if __name__ == '__main__':
    main()
