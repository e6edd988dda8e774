"""projects/LightHeadRCNN: LargeSeparableConv, PSRoIAlignMax, LightHeadRoIHead and the configs."""
import json
import os
import subprocess
import sys

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config, ConfigDict

import projects.LightHeadRCNN.lighthead_rcnn  # noqa: F401  (registers the modules)
from mmdet_psroi.ops import ps_roi_align
from mmdet_psroi_tools.config_checks import without_pretrained
from projects.LightHeadRCNN.lighthead_rcnn import PSRoIAlignMax
from tests.config_helpers import ROOT, load_and_build, project_configs
from tests.models.test_rfcn import _data
from tests.models.tiny import (
    assert_checkpoint_round_trip_predicts_the_same,
    assert_overfitting_halves_the_loss,
    tiny_rfcn_cfg,
)

register_all_modules()

CONFIGS = project_configs('LightHeadRCNN')
ALPHA, K = 4, 3


def tiny_lighthead_cfg(roi_layer='PSRoIAlign', reg_class_agnostic=True, rcnn_sampler=None):
    """The tiny R-FCN of tests/models/tiny.py (ResNet-18, RPN on conv4) with a Light-Head RoI
    head on conv5: 5x5 separable conv to ALPHA*K*K thin maps, K x K bins, fc 64 (ALPHA and K
    stated once, in the box head)."""
    cfg = tiny_rfcn_cfg(rcnn_sampler=rcnn_sampler)
    ps_head = cfg.roi_head.bbox_head
    layer = dict(type=roi_layer)
    if roi_layer != 'PSRoIPool':
        layer['sampling_ratio'] = 2
    cfg.roi_head = ConfigDict(
        type='LightHeadRoIHead',
        thin_map_conv=dict(type='LargeSeparableConv', in_channels=512, mid_channels=16,
                           kernel_size=5),
        bbox_roi_extractor=dict(type='PSRoIExtractor',
                                roi_layer=layer,
                                featmap_strides=[16]),
        bbox_head=dict(type='ConvFCBBoxHead', num_shared_convs=0, num_shared_fcs=1,
                       in_channels=ALPHA, fc_out_channels=64, roi_feat_size=K,
                       num_classes=ps_head.num_classes, reg_class_agnostic=reg_class_agnostic,
                       bbox_coder=ps_head.bbox_coder, loss_cls=ps_head.loss_cls,
                       loss_bbox=ps_head.loss_bbox))
    return cfg


def _build(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(tiny_lighthead_cfg(**kwargs))


# --- configs -------------------------------------------------------------------------------

def test_every_project_config_is_found():
    names = [os.path.basename(p) for p in CONFIGS]
    assert 'lighthead-rcnn_r50-c4_ohem_1x_coco.py' in names
    assert 'lighthead-rcnn_r101-c4_ohem_1x_coco.py' in names
    assert 'lighthead-rcnn_psroialign_mobilenetv2_neon-trees.py' in names


@pytest.mark.parametrize('path', CONFIGS, ids=[os.path.basename(p) for p in CONFIGS])
def test_config_loads_and_builds(path):
    _, model = load_and_build(path)
    head = model.roi_head
    kh, kw = head.bbox_roi_extractor.output_size
    assert head.thin_map_conv.out_channels == 10 * kh * kw == 490
    assert head.bbox_head.shared_fcs[0].out_features == 2048


def test_r50_coco_config_has_the_papers_settings():
    cfg = Config.fromfile(os.path.join(ROOT, 'projects', 'LightHeadRCNN', 'configs',
                                       'lighthead-rcnn_r50-c4_ohem_1x_coco.py'))
    model = MODELS.build(without_pretrained(cfg.model))
    conv5 = model.backbone.layer4[0]
    assert conv5.conv1.stride == conv5.conv2.stride == (1, 1)
    assert conv5.conv2.dilation == (2, 2)
    assert model.rpn_in_indices == (0, ) and model.roi_in_indices == (1, )
    assert model.rpn_head.rpn_conv.out_channels == 512
    assert model.rpn_head.num_base_priors == 15
    assert cfg.model.train_cfg.rpn_proposal.max_per_img == 2000
    assert cfg.model.test_cfg.rpn.max_per_img == 1000
    sampler = model.roi_head.bbox_sampler
    assert type(sampler).__name__ == 'TotalLossOHEMSampler' and sampler.num == 256
    conv = model.roi_head.thin_map_conv
    assert conv.col_then_row[0].kernel_size == (15, 1)
    assert conv.col_then_row[0].out_channels == 256
    layer = model.roi_head.bbox_roi_extractor.roi_layers[0]
    assert type(layer).__name__ == 'PSRoIAlign' and layer.sampling_ratio == 2
    assert layer.spatial_scale == 1 / 16
    assert model.roi_head.bbox_head.reg_class_agnostic
    scales = [t for t in cfg.train_pipeline if t['type'] == 'Resize'][0]['scale']
    assert scales == (1333, 800)


def test_public_code_variant_takes_the_max_and_regresses_per_class():
    cfg = Config.fromfile(os.path.join(ROOT, 'projects', 'LightHeadRCNN', 'configs',
                                       'lighthead-rcnn_psroialignmax-classreg_r101-c4_ohem_1x_coco.py'))
    model = MODELS.build(without_pretrained(cfg.model))
    assert isinstance(model.roi_head.bbox_roi_extractor.roi_layers[0], PSRoIAlignMax)
    assert model.roi_head.bbox_head.fc_reg.out_features == 4 * 80


# --- the large separable conv ----------------------------------------------------------------

def test_large_separable_conv_sees_a_k_by_k_square_and_keeps_the_size():
    torch.manual_seed(0)
    conv = MODELS.build(dict(type='LargeSeparableConv', in_channels=3, mid_channels=4,
                             out_channels=6, kernel_size=5))
    conv.init_weights()
    for branch in (conv.col_then_row, conv.row_then_col):
        torch.nn.init.constant_(branch[1].bias, 100.0)  # keep the ReLU in its linear part
    assert conv.col_then_row[0].kernel_size == (5, 1) and conv.row_then_col[0].kernel_size == (1, 5)
    x = torch.zeros(1, 3, 11, 12)
    out = conv(x)
    assert out.shape == (1, 6, 11, 12)
    poked = x.clone()
    poked[0, :, 5, 6] = 1.0
    changed = (conv(poked) != out).any(dim=1)[0]
    assert changed[3:8, 4:9].all() and changed.sum() == 25  # the whole 5x5 square, no more


def test_large_separable_conv_sums_the_branches_then_relu():
    torch.manual_seed(0)
    conv = MODELS.build(dict(type='LargeSeparableConv', in_channels=3, mid_channels=4,
                             out_channels=6, kernel_size=3))
    x = torch.randn(2, 3, 7, 7)
    expected = (conv.col_then_row(x) + conv.row_then_col(x)).clamp(min=0)
    torch.testing.assert_close(conv(x), expected)
    assert (expected == 0).any() and (expected > 0).any()


@pytest.mark.parametrize('field, value, message', [
    ('kernel_size', 4, 'kernel_size must be a positive odd int, got 4'),
    ('mid_channels', 0, 'mid_channels must be a positive int, got 0'),
])
def test_large_separable_conv_rejects_bad_arguments(field, value, message):
    cfg = dict(type='LargeSeparableConv', in_channels=3, mid_channels=4, out_channels=6)
    cfg[field] = value
    with pytest.raises(ValueError, match=message):
        MODELS.build(cfg)


# --- max over samples ------------------------------------------------------------------------

def test_psroialign_max_reads_the_same_samples_as_psroialign():
    torch.manual_seed(0)
    feats = torch.randn(2, 5 * 3 * 3, 12, 14, dtype=torch.float64)
    rois = torch.tensor([[0, 3.0, 5.0, 150.0, 120.0], [1, 40.0, 10.0, 90.0, 180.0],
                         [1, 0.0, 0.0, 20.0, 20.0]], dtype=torch.float64)
    layer = PSRoIAlignMax(output_size=3, spatial_scale=1 / 16, sampling_ratio=2)
    out = layer(feats, rois)
    mean = ps_roi_align(feats, rois, 3, 1 / 16, 2)
    assert out.shape == mean.shape == (3, 5, 3, 3)
    assert (out >= mean - 1e-12).all() and (out > mean + 1e-6).any()
    # the 2x2 sub-bins it maximises over average to PSRoIAlign's bins: the same samples
    from projects.LightHeadRCNN.lighthead_rcnn.ps_roi_align_max import _sub_bin_channels
    fine = ps_roi_align(feats.index_select(1, _sub_bin_channels(5, 3, 3, 2, 'cpu')), rois, 6,
                        1 / 16, 1)
    torch.testing.assert_close(torch.nn.functional.avg_pool2d(fine, 2), mean)
    torch.testing.assert_close(torch.nn.functional.max_pool2d(fine, 2), out)


def test_psroialign_max_gradient():
    torch.manual_seed(0)
    feats = torch.randn(1, 2 * 2 * 2, 6, 6, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[0, 4.0, 6.0, 70.0, 80.0]], dtype=torch.float64)
    layer = PSRoIAlignMax(output_size=2, spatial_scale=1 / 16, sampling_ratio=2)
    assert torch.autograd.gradcheck(lambda f: layer(f, rois), (feats, ))


def test_psroialign_max_needs_a_fixed_sampling_grid():
    with pytest.raises(ValueError, match='sampling_ratio must be > 0'):
        MODELS.build(dict(type='PSRoIExtractor', featmap_strides=[16],
                          roi_layer=dict(type='PSRoIAlignMax', output_size=7, sampling_ratio=0)))


@pytest.mark.parametrize('extra, message', [
    (dict(spatial_scale=0.5), r'PSRoIExtractor: roi_layer\.spatial_scale is set from'),
    (dict(original=True), r'PSRoIExtractor: roi_layer\.original is not an argument of '
                          r'PSRoIAlignMax \(it takes output_size, sampling_ratio\)'),
])
def test_psroialign_max_layer_arguments_are_checked(extra, message):
    with pytest.raises(ValueError, match=message):
        MODELS.build(dict(type='PSRoIExtractor', featmap_strides=[16],
                          roi_layer=dict(type='PSRoIAlignMax', output_size=7, **extra)))


# --- the RoI head and the detector -----------------------------------------------------------

@pytest.mark.parametrize('roi_layer, agnostic', [('PSRoIAlign', True), ('PSRoIAlignMax', False),
                                                 ('PSRoIPool', True)])
def test_head_shapes(roi_layer, agnostic):
    model = _build(roi_layer=roi_layer, reg_class_agnostic=agnostic)
    maps = model.roi_head.compute_maps((torch.randn(2, 512, 8, 9), ))
    assert len(maps) == 1 and maps[0].shape == (2, ALPHA * K * K, 8, 9)
    rois = torch.tensor([[0, 10.0, 10.0, 90.0, 80.0], [1, 0.0, 0.0, 127.0, 127.0],
                         [1, 5.0, 5.0, 20.0, 30.0]])
    out = model.roi_head._bbox_forward(maps, rois)
    assert out['bbox_feats'].shape == (3, ALPHA, K, K)
    assert out['cls_score'].shape == (3, 3)
    assert out['bbox_pred'].shape == (3, 4 if agnostic else 4 * 2)


@pytest.mark.parametrize('roi_layer, agnostic', [('PSRoIAlign', True), ('PSRoIAlignMax', False)])
def test_training_step_gives_finite_losses_and_gradients(roi_layer, agnostic):
    model = _build(roi_layer=roi_layer, reg_class_agnostic=agnostic)
    losses = model(**_data(model), mode='loss')
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'acc'):
        assert key in losses
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    head = model.roi_head
    for param in (head.thin_map_conv.col_then_row[0].weight,
                  head.thin_map_conv.row_then_col[1].weight, head.bbox_head.fc_cls.weight,
                  head.bbox_head.fc_reg.weight):
        assert torch.isfinite(param.grad).all() and param.grad.abs().sum() > 0


def test_predict_gives_boxes():
    model = _build()
    model.eval()
    with torch.no_grad():
        results = model(**_data(model), mode='predict')
        (cls_score, bbox_pred), = model(**_data(model), mode='tensor')
    assert cls_score.shape[1] == 3 and bbox_pred.shape[1] == 4
    for sample in results:
        pred = sample.pred_instances
        assert len(pred.bboxes) == len(pred.scores) == len(pred.labels) <= 50
        assert torch.isfinite(pred.bboxes).all()


def test_short_overfit_drives_the_loss_down():
    model = _build()
    data = _data(model, num_images=2, size=96, seed=1)
    assert_overfitting_halves_the_loss(model, data)


def test_checkpoint_save_load_gives_identical_predictions(tmp_path):
    model = _build(roi_layer='PSRoIAlignMax')
    torch.manual_seed(123)  # a different initialisation, then overwritten by the checkpoint
    other = MODELS.build(tiny_lighthead_cfg(roi_layer='PSRoIAlignMax'))
    assert_checkpoint_round_trip_predicts_the_same(model, other, str(tmp_path / 'lighthead.pth'),
                                                   _data(model, seed=3))


@pytest.mark.parametrize('key, value, message', [
    ('out_channels', 5 * K * K, r'thin_map_conv.out_channels=45 must be bbox_head.in_channels '
                                r'\* kh \* kw = 4 \* 3 \* 3 = 36'),
    ('roi_feat_size', 7, r'bbox_head.roi_feat_size=\(7, 7\) does not match'),
    ('mask_head', dict(type='FCNMaskHead'), 'mask_head is not supported'),
])
def test_wrong_configs_fail_with_the_field_named(key, value, message):
    cfg = tiny_lighthead_cfg()
    if key == 'out_channels':
        cfg.roi_head.thin_map_conv.out_channels = value
    elif key == 'roi_feat_size':  # against an explicit output size: a second k
        cfg.roi_head.bbox_head.roi_feat_size = value
        cfg.roi_head.bbox_roi_extractor.roi_layer.output_size = K
    else:
        cfg.roi_head[key] = value
    with pytest.raises(ValueError, match=message):
        MODELS.build(cfg)


def test_thin_map_conv_in_channels_mismatch_is_named():
    cfg = tiny_lighthead_cfg()
    cfg.roi_head.thin_map_conv.in_channels = 256
    model = MODELS.build(cfg)
    with pytest.raises(ValueError, match=r'expected a \(N, 256, H, W\) map, got shape '
                                         r'\(2, 512, 8, 8\)'):
        model(**_data(model), mode='loss')


@pytest.mark.slow
def test_neon_config_trains_and_evaluates_through_the_ablation_tool(tmp_path):
    from tests.tools.test_ablation import write_tree_dataset

    data_root = str(tmp_path / 'data')
    write_tree_dataset(data_root)
    out = str(tmp_path / 'out')
    config = 'projects/LightHeadRCNN/configs/lighthead-rcnn_psroialign_mobilenetv2_neon-trees.py'
    command = [sys.executable, 'tools/ablation.py', '--configs', config, '--data-root',
               data_root, '--max-iters', '2', '--work-dir', out, '--show-images', '1',
               '--timing-rounds', '1', '--cfg-options', 'model.backbone.init_cfg=None']
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with open(os.path.join(out, 'results.json')) as f:
        (row, ) = json.load(f)['runs']
    assert row['model'] == os.path.basename(config)[:-3]
    assert 0.0 <= row['bbox_mAP_50'] <= 1.0 or row['bbox_mAP_50'] == -1.0
    assert row['inference_ms_median'] > 0 and row['loss_curve']


@pytest.mark.slow
def test_project_benchmark_times_every_model_and_phase(tmp_path):
    out = tmp_path / 'lighthead_benchmark.json'
    subprocess.run([sys.executable, 'projects/LightHeadRCNN/tools/benchmark.py', '--rois', '8',
                    '--rounds', '1', '--image-size', '64', '64', '--json', str(out)],
                   cwd=ROOT, check=True, capture_output=True, text=True, timeout=900)
    rows = json.loads(out.read_text())['rows']
    assert [(r['phase'], r['part']) for r in rows] == [
        (phase, part) for phase in ('inference', 'training step')
        for part in ('whole model', 'RoI head')]
    for row in rows:
        assert set(row['seconds']) == {'Light-Head R-CNN', 'R-FCN', 'Faster R-CNN C4'}
        assert all(t > 0 for t in row['seconds'].values())
