"""Speed of an exported detector on CPU runtimes (onnxruntime; OpenVINO's CPU plugin in float32)
against the PyTorch model in eager mode, on the config's test images, with the same thread count
(docs/deployment.md). Both start from the test pipeline's resized image and end with detections
in original-image pixels; interleaved rounds (``mmdet_psroi_tools.timing``) after one warm-up
pass each: ms per image and the per-round time ratio PyTorch / runtime, median [min, max].
``--roi-stage``: the PS RoI op's ONNX decomposition on each runtime against the compiled op, on
the inputs the RoI head gives it for the first image.

    python tools/deployment/benchmark_onnx.py CONFIG CHECKPOINT MODEL.onnx [--threads 1]
        [--backend onnxruntime [openvino]] [--rounds 7] [--images 12] [--roi-stage]
"""
import argparse
import statistics

from mmdet_psroi_tools.onnx_runtime import (
    BACKENDS,
    build_test_dataloader,
    check_backends,
    check_graph,
    inference_session,
    load_config,
    load_pytorch_model,
    require_files,
    run_onnx,
    torchscript_exporter,
)
from mmdet_psroi_tools.timing import interleaved_rounds, per_round_ratio

ROI_STAGE_CALLS = 20  # calls of the RoI op per timed round


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='ONNX runtimes against PyTorch eager')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('model', help='the .onnx file exported from CONFIG and CHECKPOINT')
    parser.add_argument('--threads', type=int, default=1,
                        help='threads of each: torch.set_num_threads, onnxruntime intra-op, '
                             'OpenVINO inference threads')
    parser.add_argument('--backend', nargs='+', choices=BACKENDS, default=['onnxruntime'],
                        help='the runtime(s) timed against PyTorch, in the same rounds')
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--images', type=int, default=0, help='test images used (0: all)')
    parser.add_argument('--roi-stage', action='store_true',
                        help='also time the PS RoI op: compiled against its ONNX graph')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    require_files(args, 'config', 'checkpoint', 'model')
    if args.threads < 1 or args.rounds < 1 or args.images < 0:
        raise SystemExit('--threads and --rounds must be >= 1, --images >= 0')
    args.backend = list(dict.fromkeys(args.backend))  # each once, in the order given
    check_backends(args.backend)
    return args


def report(title, times, per, ratios):
    """Prints each timed function's time per call and the per-round time ratios
    ``(slow, fast)``, median [min, max] over the rounds."""
    print(title)
    for name, timing in times.items():
        ms = [1000 * s / per for s in timing.values]
        print(f'  {name:20s} {statistics.median(ms):8.2f} ms [{min(ms):.2f}, {max(ms):.2f}] per '
              f'call, median [min, max] over {len(ms)} rounds')
    for slow, fast in ratios:
        ratio = per_round_ratio(times[slow], times[fast])
        print(f'  time ratio {slow} / {fast}: {ratio.median:.2f}x [{ratio.low:.2f}, '
              f'{ratio.high:.2f}]')


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


def roi_stage(model, data_batch, threads, rounds, backends):
    """Times each PS RoI layer call of one image: the compiled op against its ONNX graph on
    each of ``backends``."""
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
        feeds = {n: x.numpy() for n, x in zip(names, inputs)}

        def native(layer=layer, inputs=inputs):
            with torch.no_grad():
                for _ in range(ROI_STAGE_CALLS):
                    layer(*inputs)

        def graph(session, feeds=feeds):
            for _ in range(ROI_STAGE_CALLS):
                session.run(None, feeds)

        timed = {'compiled op': native}
        for backend in backends:
            session = inference_session(buffer.getvalue(), backend, threads)
            timed[f'graph ({backend})'] = lambda session=session: graph(session)
        shapes = ', '.join(str(tuple(x.shape)) for x in inputs)
        times = interleaved_rounds(timed, rounds)
        report(f'RoI stage: {layer!r} on {shapes}', times, ROI_STAGE_CALLS,
               [(f'graph ({backend})', 'compiled op') for backend in backends])


def main(argv=None):
    args = parse_args(argv)
    import itertools

    import torch

    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.cfg_options)
    batches = list(itertools.islice(build_test_dataloader(cfg), args.images or None))
    model = load_pytorch_model(cfg, args.checkpoint)
    sessions = {backend: inference_session(args.model, backend, args.threads)
                for backend in args.backend}
    for session in sessions.values():
        check_graph(session)

    def pytorch():
        with torch.no_grad():
            for batch in batches:
                model.test_step(batch)

    def graph(session):
        for batch in batches:
            run_onnx(session, batch)

    timed = {'pytorch': pytorch}
    timed.update({backend: lambda session=session: graph(session)
                  for backend, session in sessions.items()})
    print(f'{args.config}: {len(batches)} images, {args.threads} thread(s), torch '
          f'{torch.__version__}, {args.rounds} interleaved rounds')
    times = interleaved_rounds(timed, args.rounds)
    report('whole detector (per image)', times, len(batches),
           [('pytorch', backend) for backend in args.backend])
    if args.roi_stage:
        roi_stage(model, batches[0], args.threads, args.rounds, args.backend)


if __name__ == '__main__':
    main()
