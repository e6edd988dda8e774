"""Where a model's AP is lost, over the seeds of a `tools/ablation.py` run (docs/neon_demo.md):
AP and recall at several IoUs and the RPN's proposal recall, per model over seeds and paired
by seed with the baseline's.
"""
import argparse
import contextlib
import io
import os.path as osp

import numpy as np
import torch

from mmdet_psroi_tools.ablation import report
from mmdet_psroi_tools.ablation.run_cache import finished_runs, load_run
from mmdet_psroi_tools.outputs import table, write_json
from mmdet_psroi_tools.seed_statistics import CI_METHOD, over_seeds

MAX_DETS = 1000
PROPOSAL_IOU = 0.5


def coco_at_ious(coco_gt, detections, iou_thrs, max_dets=MAX_DETS):
    """``{'AP@0.5': ..., 'recall@0.5': ...}`` of ``detections`` (COCO result dicts) at each
    IoU threshold, all areas, averaged over categories as COCO's summary does; 0 for none."""
    from pycocotools.cocoeval import COCOeval

    if not detections:
        return {f'{kind}@{t:g}': 0.0 for t in iou_thrs for kind in ('AP', 'recall')}
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(coco_gt, coco_gt.loadRes(detections), 'bbox')
        evaluation.params.iouThrs = np.asarray(iou_thrs, dtype=float)
        evaluation.params.maxDets = [max_dets]
        evaluation.evaluate()
        evaluation.accumulate()
    precision = evaluation.eval['precision'][:, :, :, 0, -1]  # (T, R, K), area 'all'
    recall = evaluation.eval['recall'][:, :, 0, -1]  # (T, K)
    result = {}
    for index, t in enumerate(iou_thrs):
        for kind, values in (('AP', precision[index]), ('recall', recall[index])):
            valid = values[values > -1]  # -1: no ground truth of the category
            result[f'{kind}@{t:g}'] = float(valid.mean()) if valid.size else 0.0
    return result


def proposal_recall(gt_boxes, proposals, iou=PROPOSAL_IOU):
    """Fraction of ground-truth boxes (per image ``(G, 4)`` xyxy) that some proposal of the
    same image (``(P, 4)`` xyxy) overlaps with IoU >= ``iou``; ``None`` without ground truth."""
    from mmdet.structures.bbox import bbox_overlaps

    found = sum(int((bbox_overlaps(gt, boxes).max(dim=1).values >= iou).sum())
                for gt, boxes in zip(gt_boxes, proposals) if len(gt) and len(boxes))
    total = sum(len(gt) for gt in gt_boxes)
    return found / total if total else None


def keep_proposals(model):
    """A list that holds the proposals (a ``(P, 4)`` tensor per image) of the last call of
    ``model.rpn_head.predict_by_feat`` (two-stage predict calls it); ``None`` without an RPN."""
    rpn_head = getattr(model, 'rpn_head', None)
    if rpn_head is None:
        return None
    kept = []
    predict_by_feat = rpn_head.predict_by_feat

    def predict_and_keep(*args, **kwargs):
        results = predict_by_feat(*args, **kwargs)
        kept[:] = [r.bboxes.detach().clone() for r in results]
        return results

    rpn_head.predict_by_feat = predict_and_keep
    return kept


def skip_box_regression(model):
    """Makes the RoI head's box coder decode the deltas of no move (``encode(boxes, boxes)``)
    instead of the predicted ones: the detections become the scored, unregressed proposals."""
    coder = model.roi_head.bbox_head.bbox_coder
    decode = coder.decode

    def decode_unmoved(bboxes, pred_bboxes, *args, **kwargs):
        return decode(bboxes, coder.encode(bboxes, bboxes), *args, **kwargs)

    coder.decode = decode_unmoved


def evaluate_run(run_dir, iou_thrs, cfg_options=None, unregressed=False):
    """One finished run's AP/recall at each IoU and its proposal recall."""
    from pycocotools.coco import COCO

    print(f'[error_breakdown] {run_dir}', flush=True)
    model, dataloader, record, cfg = load_run(run_dir, cfg_options)
    if unregressed:
        skip_box_regression(model)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(cfg.test_evaluator.ann_file)
    cat_ids = dataloader.dataset.cat_ids
    kept = keep_proposals(model)
    detections, gt_boxes, proposals = [], [], []
    with torch.no_grad():
        for data in dataloader:
            for index, sample in enumerate(model.test_step(data)):
                pred = sample.pred_instances
                xywh = pred.bboxes.double()  # float64, as CocoMetric's conversion
                xywh[:, 2:] -= xywh[:, :2]
                detections += [dict(image_id=sample.img_id, category_id=cat_ids[label],
                                    score=score, bbox=box) for box, score, label in
                               zip(xywh.tolist(), pred.scores.tolist(), pred.labels.tolist())]
                gt = torch.tensor([a['bbox'] for a in coco_gt.loadAnns(coco_gt.getAnnIds(
                    imgIds=sample.img_id, iscrowd=False))], dtype=torch.float64).reshape(-1, 4)
                gt[:, 2:] += gt[:, :2]  # xyxy, summed in float64 and rounded once
                gt_boxes.append(gt.float())
                if kept is not None:  # proposals: in the resized image, unlike the gt
                    scale = torch.tensor(sample.scale_factor, dtype=torch.float32).repeat(2)
                    proposals.append(kept[index] / scale)
    return dict(seed=record['seed'], run_dir=run_dir, **coco_at_ious(coco_gt, detections, iou_thrs),
                **{f'proposal_recall@{PROPOSAL_IOU:g}':
                   proposal_recall(gt_boxes, proposals) if kept is not None else None})


def summarize(results, baseline):
    """Per model: every key over its seeds (not one that is ``None``: the proposal recall of a
    model without an RPN), and the difference to the baseline paired by seed."""
    summaries = {}
    for model, runs in results.items():
        keys = [k for k in runs[0] if '@' in k and runs[0][k] is not None]
        summaries[model] = dict(seeds=[r['seed'] for r in runs], **over_seeds(
            runs, keys, None if model == baseline else results[baseline]))
    return summaries


def markdown(summaries, baseline):
    """Mean ± std of every key per model, then the paired differences to the baseline."""
    keys = list(dict.fromkeys(k for s in summaries.values() for k in s if '@' in k))
    means = [[model, len(s['seeds'])] + [report.mean_pm_std(s[k]) if k in s else '-' for k in keys]
             for model, s in summaries.items()]
    differences = [[model] + [report.difference_with_interval(s['difference_to_baseline'][k])
                              if k in s['difference_to_baseline'] else '-' for k in keys]
                   for model, s in summaries.items() if 'difference_to_baseline' in s]
    return '\n'.join(table(['model', 'seeds'] + keys, means)
                     + ['', f'Difference to {baseline} ({CI_METHOD}):', '']
                     + table(['model'] + keys, differences)) + '\n'


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model_dirs', nargs='+', metavar='MODEL_DIR',
                        help='<ablation work dir>/<model>, one per model')
    parser.add_argument('--baseline', help='the model (dir name) the others are compared '
                                           'with; default: the last')
    parser.add_argument('--iou-thrs', nargs='+', type=float, default=[0.1, 0.3, 0.5, 0.75])
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='test-time '
                        'settings, e.g. model.test_cfg.rcnn.nms.iou_threshold=0.4')
    parser.add_argument('--unregressed', action='store_true', help='the proposals with the '
                        'RoI head\'s scores, without its box regression')
    parser.add_argument('--out', help='default: error_breakdown.json beside the first MODEL_DIR')
    args = parser.parse_args(argv)
    for path in args.model_dirs:
        if not osp.isdir(path):
            parser.error(f'MODEL_DIR {path} is not a directory')
    models = [osp.basename(osp.normpath(d)) for d in args.model_dirs]
    args.baseline = report.checked_baseline(parser, models, args.baseline)
    bad = [t for t in args.iou_thrs if not 0 < t <= 1]
    if bad:
        parser.error(f'--iou-thrs must be in (0, 1], got {bad}')
    try:
        args.runs = {model: finished_runs(d) for model, d in zip(models, args.model_dirs)}
    except ValueError as error:
        parser.error(str(error))
    args.out = args.out or osp.join(osp.dirname(osp.normpath(args.model_dirs[0])),
                                    'error_breakdown.json')
    return args


def main(argv=None):
    args = parse_args(argv)
    results = {model: [evaluate_run(run_dir, args.iou_thrs, args.cfg_options, args.unregressed)
                       for run_dir in runs.values()] for model, runs in args.runs.items()}
    summaries = summarize(results, args.baseline)
    write_json(args.out, dict(iou_thrs=args.iou_thrs, baseline=args.baseline,
                              ci_method=CI_METHOD, cfg_options=args.cfg_options,
                              unregressed=args.unregressed, models=summaries, runs=results))
    print('\n' + markdown(summaries, args.baseline))
    print(f'[error_breakdown] wrote {args.out}')


if __name__ == '__main__':
    main()
