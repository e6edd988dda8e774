"""Run an exported detector (tools/deployment/export_onnx.py) with onnxruntime or OpenVINO
on a config's test set and evaluate it with the config's own evaluator; prints the metrics
tools/test.py prints for the PyTorch model.

    python tools/deployment/test_onnx.py CONFIG MODEL.onnx [--backend onnxruntime|openvino]
        [--checkpoint CKPT] [--threads N] [--nms-ties-by-index] [--cfg-options k=v ...]

``--backend``: the runtime, on the CPU: onnxruntime (default; CPU execution provider) or
OpenVINO (its CPU plugin in float32, ``mmdet_psroi_tools.onnx_runtime.OpenVINOSession``; needs
the ``openvino`` package).

The test dataloader's pipeline loads and resizes each image (outside the graph, as the export
documents); the graph gets the resized image (1, 3, H, W), BGR, 0-255, and returns ``dets``
(N, 5) and ``labels`` (N,) in the resized image's pixels, which are divided by the resize's
scale factor (mmdet's ``rescale=True``) before the evaluator sees them.

``--checkpoint``: also runs the PyTorch model (the checkpoint the file was exported from) on
the same batches, evaluates it with a second evaluator and compares the detections: each
PyTorch detection is matched to the ONNX detection of the same label with the nearest box,
and the largest box (px) and score differences over matched pairs are printed with the
number of detections left unmatched. ``--nms-ties-by-index`` runs the PyTorch model with
mmcv's NMS visiting boxes of equal score by index, as the graph's ``NonMaxSuppression`` does
(mmcv's NMS sorts them with torch's unstable sort), so that what remains of the differences
is the export's own: with PSRoIPool, distinct RoIs that fall into the same integer bins get
bitwise-equal scores, and which of two such overlapping boxes NMS keeps is otherwise
arbitrary.
"""
import argparse
import contextlib
import os.path as osp

from mmdet_psroi_tools.onnx_runtime import (
    BACKENDS,
    check_backends,
    check_graph,
    inference_session,
    load_pytorch_model,
    nms_ties_by_index,
    run_onnx,
)


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='Evaluate an exported ONNX detector')
    parser.add_argument('config', help='the config the model was exported from')
    parser.add_argument('model', help='the .onnx file (tools/deployment/export_onnx.py)')
    parser.add_argument('--checkpoint', help='also run and evaluate this PyTorch checkpoint '
                                             'and compare its detections with the ONNX ones')
    parser.add_argument('--backend', choices=BACKENDS, default='onnxruntime',
                        help='the runtime that runs the graph on the CPU (default: onnxruntime)')
    parser.add_argument('--threads', type=int, default=0,
                        help='the runtime\'s threads (onnxruntime intra-op, OpenVINO inference '
                             'threads; 0: its default)')
    parser.add_argument('--nms-ties-by-index', action='store_true',
                        help='with --checkpoint: run the PyTorch model with NMS visiting boxes '
                             'of equal score by index, as the graph does')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value pairs')
    args = parser.parse_args(argv)
    for name in ('config', 'model', 'checkpoint'):
        path = getattr(args, name)
        if path is not None and not osp.isfile(path):
            raise SystemExit(f'{name} file not found: {path}')
    if args.threads < 0:
        raise SystemExit(f'--threads must be >= 0, got {args.threads}')
    if args.nms_ties_by_index and args.checkpoint is None:
        raise SystemExit('--nms-ties-by-index changes how the PyTorch model runs: it needs '
                         '--checkpoint')
    check_backends([args.backend])
    return args


def build_evaluator(cfg, dataset):
    from mmengine.evaluator import Evaluator

    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    return evaluator


def match_detections(reference, other):
    """Greedy matching of ``reference`` detections to ``other``'s of the same label (nearest
    box corners first); returns ``(max box difference px, max score difference, matched,
    unmatched in reference, unmatched in other)``."""
    import torch

    box_diff = score_diff = 0.0
    matched = 0
    free = torch.ones(len(other.bboxes), dtype=torch.bool)
    for i in range(len(reference.bboxes)):
        candidates = free & (other.labels == reference.labels[i])
        if not candidates.any():
            continue
        distance = (other.bboxes - reference.bboxes[i]).abs().amax(dim=1)
        distance[~candidates] = float('inf')
        j = int(distance.argmin())
        free[j] = False
        matched += 1
        box_diff = max(box_diff, float(distance[j]))
        score_diff = max(score_diff, float((other.scores[j] - reference.scores[i]).abs()))
    return box_diff, score_diff, matched, len(reference.bboxes) - matched, int(free.sum())


def print_metrics(name, metrics):
    print(f'{name}: ' + '  '.join(f'{key}: {value:.4f}' if isinstance(value, float)
                                  else f'{key}: {value}' for key, value in metrics.items()))


def main(argv=None):
    args = parse_args(argv)
    import copy

    import torch
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmdet_psroi.plugin  # noqa: F401  (registers the models)

    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    session = inference_session(args.model, args.backend, args.threads)
    check_graph(session)
    dataloader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader))
    evaluator = build_evaluator(cfg, dataloader.dataset)
    model = None
    if args.checkpoint:
        model = load_pytorch_model(cfg, args.checkpoint)
        torch_evaluator = build_evaluator(cfg, dataloader.dataset)
        worst = [0.0, 0.0, 0, 0, 0]
    for data_batch in dataloader:
        sample = data_batch['data_samples'][0]
        sample.pred_instances = run_onnx(session, data_batch)
        evaluator.process(data_samples=[sample], data_batch=data_batch)
        if model is not None:
            ties = nms_ties_by_index() if args.nms_ties_by_index else contextlib.nullcontext()
            with torch.no_grad(), ties:
                reference = model.test_step(data_batch)[0]
            torch_evaluator.process(data_samples=[reference], data_batch=data_batch)
            box, score, matched, lost, extra = match_detections(reference.pred_instances,
                                                                sample.pred_instances)
            worst = [max(worst[0], box), max(worst[1], score), worst[2] + matched,
                     worst[3] + lost, worst[4] + extra]
    print_metrics(args.backend, evaluator.evaluate(len(dataloader.dataset)))
    if model is not None:
        print_metrics('pytorch', torch_evaluator.evaluate(len(dataloader.dataset)))
        print(f'detections: {worst[2]} matched, {worst[3]} PyTorch ones unmatched, {worst[4]} '
              f'ONNX ones unmatched; over matched pairs: max box difference {worst[0]:.2e} px, '
              f'max score difference {worst[1]:.2e}'
              + (' (PyTorch NMS: equal scores by index)' if args.nms_ties_by_index else ''))


if __name__ == '__main__':
    main()
