"""Evaluate an exported detector on onnxruntime or OpenVINO with the config's evaluator, and
with ``--checkpoint`` the PyTorch model too, their detections matched (docs/deployment.md).

    python tools/deployment/test_onnx.py CONFIG MODEL.onnx [--backend openvino] [--checkpoint CKPT]
"""
import argparse
import contextlib

import torch

from mmdet_psroi_tools import onnx_runtime
from mmdet_psroi_tools.arguments import at_least, existing_file
from mmdet_psroi_tools.onnx_runtime import BACKENDS, check_graph


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='Evaluate an exported ONNX detector')
    parser.add_argument('config', type=existing_file)
    parser.add_argument('model', type=existing_file, help='the .onnx file')
    parser.add_argument('--checkpoint', type=existing_file,
                        help='also evaluate this PyTorch checkpoint, its detections matched')
    parser.add_argument('--backend', type=onnx_runtime.installed, choices=BACKENDS,
                        default='onnxruntime', help='the runtime that runs the graph on the CPU')
    parser.add_argument('--threads', type=at_least(0), default=0,
                        help="the runtime's threads (0: its default)")
    parser.add_argument('--nms-ties-by-index', action='store_true',
                        help="with --checkpoint: PyTorch's NMS visits equal scores by index")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value pairs')
    args = parser.parse_args(argv)
    if args.nms_ties_by_index and args.checkpoint is None:
        raise SystemExit('--nms-ties-by-index changes how the PyTorch model runs: it needs '
                         '--checkpoint')
    return args


def match_detections(reference, other):
    """Greedy matching of ``reference`` detections to ``other``'s of the same label (nearest
    box corners first); returns ``(max box difference px, max score difference, matched,
    unmatched in reference, unmatched in other)``."""
    box_diff, score_diff, matched = 0.0, 0.0, 0
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


@torch.no_grad()
def main(argv=None):
    args = parse_args(argv)
    from mmengine.evaluator import Evaluator

    cfg = onnx_runtime.load_config(args.config, args.cfg_options)
    session = onnx_runtime.inference_session(args.model, args.backend, args.threads)
    check_graph(session)
    dataloader = onnx_runtime.build_test_dataloader(cfg)
    evaluators = {name: Evaluator(cfg.test_evaluator)
                  for name in [args.backend] + ['pytorch'] * bool(args.checkpoint)}
    for evaluator in evaluators.values():
        evaluator.dataset_meta = dataloader.dataset.metainfo
    if args.checkpoint:
        model = onnx_runtime.load_pytorch_model(cfg, args.checkpoint)
    ties = onnx_runtime.nms_ties_by_index if args.nms_ties_by_index else contextlib.nullcontext
    found = [(0.0, 0.0, 0, 0, 0)]  # per image: match_detections' differences and counts
    for data_batch in dataloader:
        sample = data_batch['data_samples'][0]
        sample.pred_instances = onnx_runtime.run_onnx(session, data_batch)
        evaluators[args.backend].process(data_samples=[sample], data_batch=data_batch)
        if args.checkpoint:
            with ties():
                reference = model.test_step(data_batch)[0]
            evaluators['pytorch'].process(data_samples=[reference], data_batch=data_batch)
            found.append(match_detections(reference.pred_instances, sample.pred_instances))
    for name, evaluator in evaluators.items():
        metrics = evaluator.evaluate(len(dataloader.dataset)).items()
        print(f'{name}: ' + '  '.join(f'{key}: {value:.4f}' if isinstance(value, float)
                                      else f'{key}: {value}' for key, value in metrics))
    if args.checkpoint:
        box_diff, score_diff, matched, only_pytorch, only_onnx = zip(*found)
        print(f'detections: {sum(matched)} matched, {sum(only_pytorch)} PyTorch ones unmatched, '
              f'{sum(only_onnx)} ONNX ones unmatched; over matched pairs: max box difference '
              f'{max(box_diff):.2e} px, max score difference {max(score_diff):.2e}'
              + (' (PyTorch NMS: equal scores by index)' if args.nms_ties_by_index else ''))


if __name__ == '__main__':
    main()
