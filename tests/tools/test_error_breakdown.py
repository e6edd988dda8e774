"""tools/analysis_tools/error_breakdown.py: AP and recall at several IoU thresholds on known
detections, the proposal recall, the statistics over seeds and the refusal of bad arguments.
Its run on trained checkpoints is checked end to end in test_ablation.py (its AP at IoU 0.5
equals mmdet's CocoMetric AP50 of the same runs)."""
import json
import os

import pytest
import torch
from pycocotools.coco import COCO

from tests.tools.tool_module import load_tool

EXACT = [0, 0, 20, 20]     # on ground-truth box A
SHIFTED = [58, 50, 20, 20]  # ground-truth box B moved by 8 px: IoU 240 / 560 = 0.43


@pytest.fixture(scope='module')
def breakdown():
    return load_tool('analysis_tools/error_breakdown.py', 'error_breakdown_tool')


@pytest.fixture(scope='module')
def coco_gt():
    coco = COCO()
    coco.dataset = dict(
        images=[dict(id=1, width=100, height=100)],
        annotations=[dict(id=1, image_id=1, category_id=1, bbox=[0, 0, 20, 20], area=400,
                          iscrowd=0),
                     dict(id=2, image_id=1, category_id=1, bbox=[50, 50, 20, 20], area=400,
                          iscrowd=0)],
        categories=[dict(id=1, name='tree')])
    coco.createIndex()
    return coco


def detection(bbox, score):
    return dict(image_id=1, category_id=1, bbox=bbox, score=score)


def test_a_box_at_iou_043_counts_at_03_and_not_at_05(breakdown, coco_gt):
    result = breakdown.coco_at_ious(coco_gt, [detection(EXACT, 0.9), detection(SHIFTED, 0.8)],
                                    [0.3, 0.5])
    assert result['AP@0.3'] == pytest.approx(1.0)
    assert result['recall@0.3'] == pytest.approx(1.0)
    # COCO's 101 recall points: precision 1 up to recall 0.5 (51 points), none beyond.
    assert result['AP@0.5'] == pytest.approx(51 / 101)
    assert result['recall@0.5'] == pytest.approx(0.5)


def test_the_ranking_of_the_boxes_changes_ap_not_recall(breakdown, coco_gt):
    result = breakdown.coco_at_ious(coco_gt, [detection(EXACT, 0.8), detection(SHIFTED, 0.9)],
                                    [0.3, 0.5])
    assert result['AP@0.3'] == pytest.approx(1.0)
    assert result['AP@0.5'] == pytest.approx(0.5 * 51 / 101)  # its only hit ranks second
    assert result['recall@0.5'] == pytest.approx(0.5)


def test_no_detections_give_zero(breakdown, coco_gt):
    assert breakdown.coco_at_ious(coco_gt, [], [0.5]) == {'AP@0.5': 0.0, 'recall@0.5': 0.0}


def test_proposal_recall_counts_ground_truth_boxes_with_a_proposal_at_iou_05(breakdown):
    gt = [torch.tensor([[0., 0., 20., 20.], [50., 50., 70., 70.]]), torch.zeros(0, 4)]
    proposals = [torch.tensor([[0., 0., 20., 22.], [58., 50., 78., 70.]]),
                 torch.tensor([[0., 0., 5., 5.]])]
    assert breakdown.proposal_recall(gt, proposals) == pytest.approx(0.5)
    assert breakdown.proposal_recall(gt, proposals, iou=0.4) == pytest.approx(1.0)
    assert breakdown.proposal_recall(gt[1:], proposals[1:]) is None


def test_unregressed_detections_are_the_scored_proposals(breakdown):
    from types import SimpleNamespace

    from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
    from mmengine.config import ConfigDict

    head = Shared2FCBBoxHead(in_channels=4, fc_out_channels=8, roi_feat_size=2, num_classes=1,
                             reg_class_agnostic=True,
                             bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                                             target_means=[0.] * 4, target_stds=[0.1] * 4))
    rois = torch.tensor([[0., 10., 10., 30., 30.], [0., 40., 20., 95., 60.]])
    cls_score = torch.tensor([[2., 0.], [1., 0.]])
    deltas = torch.tensor([[0.5, -0.5, 1., 0.3], [-1., 0.2, 0.4, 0.8]])
    test_cfg = ConfigDict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5),
                          max_per_img=10)

    def predict():
        return head.predict_by_feat(rois=(rois, ), cls_scores=(cls_score, ),
                                    bbox_preds=(deltas, ),
                                    batch_img_metas=[dict(img_shape=(60, 90))],
                                    rcnn_test_cfg=test_cfg)[0]

    regressed = predict()
    breakdown.skip_box_regression(SimpleNamespace(roi_head=SimpleNamespace(bbox_head=head)))
    unregressed = predict()
    assert not torch.allclose(regressed.bboxes, unregressed.bboxes)
    # the proposals, clipped to the 90 px wide image, ranked by the head's scores
    assert unregressed.bboxes.tolist() == [[10., 10., 30., 30.], [40., 20., 90., 60.]]
    assert unregressed.scores.tolist() == pytest.approx(regressed.scores.tolist())


def write_run(model_dir, seed, tag):
    run = os.path.join(model_dir, f'seed_{seed}-{tag}')
    os.makedirs(run)
    with open(os.path.join(run, 'run.json'), 'w') as f:
        json.dump(dict(seed=seed, checkpoint='iter_2.pth'), f)
    return run


def test_finished_runs_by_seed_and_refusals(breakdown, tmp_path):
    model_dir = str(tmp_path / 'model')
    runs = [write_run(model_dir, seed, tag) for seed, tag in ((1, 'aa'), (0, 'bb'))]
    os.makedirs(os.path.join(model_dir, 'seed_2-cc'))  # stopped: no run.json
    assert breakdown.finished_runs(model_dir) == {0: runs[1], 1: runs[0]}
    write_run(model_dir, 0, 'dd')
    with pytest.raises(ValueError, match='two finished runs of seed 0'):
        breakdown.finished_runs(model_dir)
    with pytest.raises(ValueError, match='no finished run'):
        breakdown.finished_runs(str(tmp_path))


@pytest.mark.parametrize('extra, message', [
    (['--iou-thrs', '0'], '--iou-thrs must be in (0, 1], got [0.0]'),
    (['--iou-thrs', '0.5', '1.5'], '--iou-thrs must be in (0, 1], got [1.5]'),
    (['--baseline', 'other'], '--baseline other is not one of the models compared: a, b'),
])
def test_bad_arguments_are_refused(breakdown, tmp_path, capsys, extra, message):
    dirs = [str(tmp_path / name) for name in 'ab']
    for model_dir in dirs:
        write_run(model_dir, 0, 'aa')
    with pytest.raises(SystemExit):
        breakdown.parse_args([*dirs, *extra])
    assert message in capsys.readouterr().err


def test_a_missing_or_unfinished_model_dir_is_refused(breakdown, tmp_path, capsys):
    with pytest.raises(SystemExit):
        breakdown.parse_args([str(tmp_path / 'missing')])
    assert 'is not a directory' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        breakdown.parse_args([str(tmp_path)])
    assert 'holds no finished run' in capsys.readouterr().err


def test_statistics_over_seeds_and_the_table(breakdown):
    results = {
        'model': [dict(seed=0, **{'AP@0.5': 0.30, 'proposal_recall@0.5': 0.7}),
                  dict(seed=1, **{'AP@0.5': 0.40, 'proposal_recall@0.5': 0.8}),
                  dict(seed=2, **{'AP@0.5': 0.50, 'proposal_recall@0.5': 0.9})],
        'base': [dict(seed=0, **{'AP@0.5': 0.35, 'proposal_recall@0.5': None}),
                 dict(seed=1, **{'AP@0.5': 0.40, 'proposal_recall@0.5': None})],
    }
    summaries = breakdown.summarize(results, 'base')
    model = summaries['model']
    assert model['AP@0.5']['mean'] == pytest.approx(0.4)
    assert model['AP@0.5']['std'] == pytest.approx(0.1)
    difference = model['difference_to_baseline']
    assert difference['AP@0.5']['seeds'] == [0, 1]  # seed 2 has no baseline run
    assert difference['AP@0.5']['differences'] == pytest.approx([-0.05, 0.0])
    assert 'proposal_recall@0.5' not in difference  # the baseline has no RPN
    assert 'proposal_recall@0.5' not in summaries['base']
    table = breakdown.markdown(summaries, 'base')
    assert '| model | 3 | 0.400 ± 0.100 | 0.800 ± 0.100 |' in table
    assert '| base | 2 | 0.375 ± 0.035 | - |' in table
    assert '| model | -0.025 [' in table
