"""projects/DeformableRFCN: configs build, the head trains, its offsets learn, checkpoints."""
import glob
import os

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

import mmdet_psroi  # noqa: F401
from mmdet_psroi.ops import deform_ps_roi_pool, ps_roi_align
from projects.DeformableRFCN.deformable_rfcn import DeformableRFCNRoIHead
from tests.config_helpers import load_and_build
from tests.models.test_rfcn import _data
from tests.models.tiny import (
    assert_checkpoint_round_trip_predicts_the_same,
    overfit_loss_history,
    tiny_rfcn_cfg,
)

register_all_modules()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'projects', 'DeformableRFCN', 'configs', '*.py')))


def tiny_deformable_cfg(k=3, **kwargs):
    cfg = tiny_rfcn_cfg(k=k, **kwargs)
    cfg['roi_head'].update(type='DeformableRFCNRoIHead')
    cfg['roi_head']['bbox_roi_extractor'].update(
        type='DeformPSRoIExtractor',
        roi_layer=dict(type='DeformPSRoIPool', output_size=k, part_size=k, sample_per_part=2,
                       trans_std=0.1))
    cfg['roi_head']['bbox_head']['type'] = 'DeformablePSBBoxHead'
    return cfg


def _build(init_weights=True, **kwargs):
    torch.manual_seed(0)
    model = MODELS.build(tiny_deformable_cfg(**kwargs))
    if init_weights:  # zero offset convs; otherwise PyTorch's defaults, as the R-FCN tests
        model.init_weights()
    return model


def test_configs_are_found():
    assert len(CONFIGS) == 5


@pytest.mark.parametrize('path', CONFIGS, ids=[os.path.basename(p) for p in CONFIGS])
def test_config_loads_and_builds_the_paper_setting(path):
    from mmcv.ops import DeformConv2dPack

    _, model = load_and_build(path)
    head = model.roi_head
    assert isinstance(head, DeformableRFCNRoIHead)
    layer = head.bbox_roi_extractor.roi_layers[0]
    assert (layer.output_size, layer.part_size, layer.sample_per_part, layer.trans_std) == (
        (7, 7), (7, 7), 4, 0.1)
    classes = head.bbox_head.num_classes + 1
    assert head.bbox_head.conv_cls_offset.out_channels == 2 * 49 * classes
    assert head.bbox_head.conv_reg_offset.out_channels == 2 * 49
    if 'neon' not in path:  # ResNet: every 3x3 conv of res5 is deformable
        res5_convs = [block.conv2 for block in model.backbone.layer4]
        assert all(isinstance(c, DeformConv2dPack) and c.deform_groups == 4
                   and c.dilation == (2, 2) for c in res5_convs)
        with torch.no_grad():  # mmcv's deformable conv runs here, at stride 1
            assert model.backbone.layer4(torch.randn(1, 1024, 5, 6)).shape == (1, 2048, 5, 6)


def test_training_step_is_finite_and_offsets_receive_gradient():
    model = _build()
    head = model.roi_head.bbox_head
    assert head.conv_cls_offset.weight.abs().sum() == 0  # starts as plain PS pooling
    losses = model(**_data(model), mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()
    for conv in (head.conv_cls_offset, head.conv_reg_offset):
        assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0


def test_zero_offsets_pool_like_ps_roi_align_inside_the_map():
    model = _build()
    model.eval()
    x = (torch.randn(1, 512, 12, 12), )
    rois = torch.tensor([[0, 20.0, 30.0, 120.0, 100.0], [0, 50.0, 40.0, 150.0, 170.0]])
    with torch.no_grad():
        out = model.roi_head._bbox_forward(x, rois)
        cls_maps = model.roi_head.bbox_head.forward_maps(x[0])[0]
    assert all(float(o.abs().sum()) == 0 for o in out['offsets'])
    torch.testing.assert_close(out['bbox_feats'], ps_roi_align(cls_maps, rois, 3, 1 / 16, 2))


@pytest.mark.slow
def test_short_overfit_drives_the_loss_down_and_moves_the_offsets():
    model = _build(init_weights=False)  # the conditions of the R-FCN overfit test
    with torch.no_grad():
        for conv in (model.roi_head.bbox_head.conv_cls_offset,
                     model.roi_head.bbox_head.conv_reg_offset):
            conv.weight.zero_()
            conv.bias.zero_()
    data = _data(model, num_images=2, size=96, seed=1)
    history = overfit_loss_history(model, data)
    assert history[-1] < 0.5 * history[0], history
    rois = torch.tensor([[0, 10.0, 10.0, 80.0, 70.0]])
    with torch.no_grad():
        x = model.extract_feat(data['inputs'])[1:]
        cls_offset, reg_offset = model.roi_head._bbox_forward(x, rois)['offsets']
    assert cls_offset.abs().max() > 0 and reg_offset.abs().max() > 0


def test_checkpoint_save_load_gives_identical_predictions(tmp_path):
    model = _build()
    with torch.no_grad():  # non-zero offsets, so that the offset convs are checkpointed too
        model.roi_head.bbox_head.conv_cls_offset.weight.normal_(std=0.01)
    torch.manual_seed(123)
    other = MODELS.build(tiny_deformable_cfg())
    path = str(tmp_path / 'deformable_rfcn.pth')
    assert_checkpoint_round_trip_predicts_the_same(model, other, path, _data(model, seed=3))


def test_multi_level_extractor_pools_each_roi_with_its_own_offsets():
    extractor = MODELS.build(dict(type='DeformPSRoIExtractor',
                                  roi_layer=dict(type='DeformPSRoIPool', output_size=2,
                                                 sample_per_part=2),
                                  featmap_strides=[4, 8], finest_scale=56))
    g = torch.Generator().manual_seed(0)
    feats = (torch.randn(1, 3 * 4, 32, 32, generator=g), torch.randn(1, 3 * 4, 16, 16, generator=g))
    rois = torch.tensor([[0, 0, 0, 120.0, 120.0], [0, 0, 0, 20.0, 20.0]])  # large, small
    offset = 0.2 * torch.randn(2, 2, 2, 2, generator=g)
    out = extractor(feats, rois, offset)
    torch.testing.assert_close(
        out[0], deform_ps_roi_pool(feats[1], rois[:1], offset[:1], 2, 1 / 8, sample_per_part=2)[0])
    torch.testing.assert_close(
        out[1], deform_ps_roi_pool(feats[0], rois[1:], offset[1:], 2, 1 / 4, sample_per_part=2)[0])


def test_wrong_extractor_and_offset_extractor_are_named():
    cfg = tiny_deformable_cfg()
    cfg['roi_head']['bbox_roi_extractor']['roi_layer']['type'] = 'PSRoIPool'
    with pytest.raises(ValueError, match="roi_layer.type must be 'DeformPSRoIPool'"):
        MODELS.build(cfg)
    cfg = tiny_deformable_cfg()
    cfg['roi_head']['offset_roi_extractor'] = dict(
        type='DeformPSRoIExtractor', featmap_strides=[16],
        roi_layer=dict(type='DeformPSRoIPool', output_size=2))
    with pytest.raises(ValueError, match=r'output_size=\(2, 2\) must equal .*part_size=\(3, 3\)'):
        MODELS.build(cfg)
