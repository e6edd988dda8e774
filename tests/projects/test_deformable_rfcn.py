"""projects/DeformableRFCN: configs build, the head trains, its offsets learn, checkpoints."""
import os

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

import mmdet_psroi.plugin  # noqa: F401
from mmdet_psroi.ops import deform_ps_roi_pool, ps_roi_align
from projects.DeformableRFCN.deformable_rfcn import DeformableRFCNRoIHead
from tests.config_helpers import load_and_build, project_configs
from tests.models.test_rfcn import _data, direct_maps
from tests.models.tiny import (
    assert_checkpoint_round_trip_predicts_the_same,
    assert_overfitting_halves_the_loss,
    tiny_rfcn_cfg,
)

register_all_modules()
CONFIGS = project_configs('DeformableRFCN')


def tiny_deformable_cfg(k=3, **kwargs):
    cfg = tiny_rfcn_cfg(k=k, **kwargs)
    cfg['roi_head'].update(type='DeformableRFCNRoIHead')
    cfg['roi_head']['bbox_roi_extractor'].update(
        roi_layer=dict(type='DeformPSRoIPool', sample_per_part=2, trans_std=0.1))
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
        out = model.roi_head._bbox_forward(model.roi_head.compute_maps(x), rois)
        cls_maps = direct_maps(model.roi_head.bbox_head, x[0])[0]
    assert all(float(o.abs().sum()) == 0 for o in out['offsets'])
    torch.testing.assert_close(out['bbox_feats'], ps_roi_align(cls_maps, rois, 3, 1 / 16, 2))


def _direct_bbox_forward(head, x, rois):
    """Deformable R-FCN's head computed op by op, each map pooled on its own: the offset maps
    without offsets, then the class maps with one offset group per class and the box maps with
    one group for all four channels (the public code's layers)."""
    bbox_head = head.bbox_head
    hidden = bbox_head.conv_hidden(x).relu()
    layer = head.bbox_roi_extractor.roi_layers[0]
    pool = head.offset_roi_extractor.roi_layers[0]
    cls_offset = pool(bbox_head.conv_cls_offset(hidden), rois)
    reg_offset = pool(bbox_head.conv_reg_offset(hidden), rois)
    cls_feats = layer(bbox_head.conv_cls(hidden), rois, cls_offset)
    reg_feats = layer(bbox_head.conv_reg(hidden), rois, reg_offset)
    return cls_feats.mean(dim=(2, 3)), reg_feats.mean(dim=(2, 3)), cls_offset, reg_offset


@pytest.mark.parametrize('agnostic', [True, False])
def test_bbox_forward_is_the_direct_computation_with_one_offset_pooling_call(agnostic):
    """Class and box offset maps pooled by one plain call, then the class maps and the box
    maps by one deformable call each: the same scores and gradients as pooling each map on
    its own."""
    cfg = tiny_deformable_cfg()
    cfg['roi_head']['bbox_head']['reg_class_agnostic'] = agnostic
    torch.manual_seed(0)
    head = MODELS.build(cfg).roi_head
    with torch.no_grad():
        for conv in (head.bbox_head.conv_cls_offset, head.bbox_head.conv_reg_offset):
            conv.weight.normal_(std=0.05)
            conv.bias.normal_(std=0.5)
    calls = []
    for name in ('bbox_roi_extractor', 'offset_roi_extractor'):
        getattr(head, name).roi_layers[0].register_forward_hook(
            lambda module, args, out, name=name: calls.append(name))
    x = torch.randn(2, 512, 12, 12)
    rois = torch.tensor([[0, 20.0, 30.0, 120.0, 100.0], [1, 50.0, 40.0, 150.0, 170.0],
                         [1, 0.0, 0.0, 191.0, 191.0]])
    out = head._bbox_forward(head.compute_maps((x, )), rois)
    assert calls == ['offset_roi_extractor', 'bbox_roi_extractor', 'bbox_roi_extractor']
    direct = _direct_bbox_forward(head, x, rois)
    ours = (out['cls_score'], out['bbox_pred']) + tuple(out['offsets'])
    assert ours[1].shape == (3, 4 if agnostic else 8)
    for a, b in zip(ours, direct):
        torch.testing.assert_close(a, b)
    params = [p for p in head.bbox_head.parameters()]
    grads = torch.autograd.grad(sum(t.square().sum() for t in ours), params)
    direct_grads = torch.autograd.grad(sum(t.square().sum() for t in direct), params)
    assert grads[-1].abs().sum() > 0  # conv_reg_offset.bias: the box offsets move
    for a, b in zip(grads, direct_grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_short_overfit_drives_the_loss_down_and_moves_the_offsets():
    model = _build(init_weights=False)  # the conditions of the R-FCN overfit test
    with torch.no_grad():
        for conv in (model.roi_head.bbox_head.conv_cls_offset,
                     model.roi_head.bbox_head.conv_reg_offset):
            conv.weight.zero_()
            conv.bias.zero_()
    data = _data(model, num_images=2, size=96, seed=1)
    assert_overfitting_halves_the_loss(model, data)
    rois = torch.tensor([[0, 10.0, 10.0, 80.0, 70.0]])
    with torch.no_grad():
        maps = model.roi_head.compute_maps(model.extract_feat(data['inputs'])[1:])
        cls_offset, reg_offset = model.roi_head._bbox_forward(maps, rois)['offsets']
    assert cls_offset.abs().max() > 0 and reg_offset.abs().max() > 0


def test_checkpoint_save_load_gives_identical_predictions(tmp_path):
    model = _build()
    with torch.no_grad():  # non-zero offsets, so that the offset convs are checkpointed too
        model.roi_head.bbox_head.conv_cls_offset.weight.normal_(std=0.01)
    torch.manual_seed(123)
    other = MODELS.build(tiny_deformable_cfg())
    path = str(tmp_path / 'deformable_rfcn.pth')
    assert_checkpoint_round_trip_predicts_the_same(model, other, path, _data(model, seed=3))


def _deform_extractor(num_levels=2):
    return MODELS.build(dict(type='PSRoIExtractor',
                             roi_layer=dict(type='DeformPSRoIPool', output_size=2,
                                            sample_per_part=2),
                             featmap_strides=[4, 8][:num_levels], finest_scale=56))


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_multi_level_extractor_pools_each_roi_with_its_own_offsets(dtype):
    extractor = _deform_extractor()
    g = torch.Generator().manual_seed(0)
    feats = (torch.randn(1, 3 * 4, 32, 32, generator=g).to(dtype),
             torch.randn(1, 3 * 4, 16, 16, generator=g).to(dtype))
    rois = torch.tensor([[0, 0, 0, 120.0, 120.0], [0, 0, 0, 20.0, 20.0]])  # large, small
    offset = 0.2 * torch.randn(2, 2, 2, 2, generator=g)
    out = extractor(feats, rois, offset=offset)
    assert out.dtype == dtype
    torch.testing.assert_close(
        out[0], deform_ps_roi_pool(feats[1], rois[:1], offset[:1], 2, 1 / 8, sample_per_part=2)[0])
    torch.testing.assert_close(
        out[1], deform_ps_roi_pool(feats[0], rois[1:], offset[1:], 2, 1 / 4, sample_per_part=2)[0])


@pytest.mark.parametrize('num_levels', [1, 2])
def test_extractor_keeps_rois_in_float32_and_gives_the_widest_dtype(num_levels, monkeypatch):
    """The level assignment and dtype handling are PSRoIExtractor's: RoIs reach the layer in
    float32 whatever the maps' dtype, each with its own offsets, and the output has the widest
    dtype of the levels."""
    extractor = _deform_extractor(num_levels)
    seen = []
    for level, layer in enumerate(extractor.roi_layers):
        def pooled(feat, rois, offset=None, level=level):
            seen.append((rois, offset))
            return feat.new_full((len(rois), feat.size(1) // 4, 2, 2), level + 1 / 3)
        monkeypatch.setattr(layer, 'forward', pooled)
    feats = (torch.zeros(1, 12, 75, 75, dtype=torch.bfloat16), torch.zeros(1, 12, 38, 38))
    # in bfloat16, 601 and 1013 would become 600 and 1012 (steps of 4 px in [512, 1024))
    rois = torch.tensor([[0, 601.0, 5.0, 1013.0, 299.0], [0, 3.0, 5.0, 21.0, 17.0]])
    offset = torch.arange(2.0).view(2, 1, 1, 1).expand(2, 2, 2, 2)
    out = extractor(feats[:num_levels], rois, offset=offset)
    assert all(r.dtype == torch.float32 for r, _ in seen)
    for r, o in seen:  # each RoI came with its own offsets
        assert torch.equal(o[:, 0, 0, 0], (r[:, 1] == 3.0).float())
    assert torch.equal(torch.cat([r for r, _ in seen]).sort(dim=0).values,
                       rois.sort(dim=0).values)
    assert out.dtype == (torch.bfloat16 if num_levels == 1 else torch.float32)
    if num_levels == 2:
        assert (out[0] == torch.tensor(1 + 1 / 3)).all()  # level 1, not rounded to bfloat16


def test_wrong_extractor_and_offset_extractor_are_named():
    cfg = tiny_deformable_cfg()
    cfg['roi_head']['bbox_roi_extractor']['roi_layer'] = dict(type='PSRoIPool')
    with pytest.raises(ValueError, match="roi_layer.type must be 'DeformPSRoIPool'"):
        MODELS.build(cfg)
    cfg = tiny_deformable_cfg()
    cfg['roi_head']['offset_roi_extractor'] = dict(
        type='PSRoIExtractor', featmap_strides=[16],
        roi_layer=dict(type='DeformPSRoIPool', output_size=2))
    with pytest.raises(ValueError, match=r'bbox_roi_extractor.roi_layer.part_size=\(3, 3\) does '
                                         r'not match offset_roi_extractor.roi_layer.output_size='
                                         r'\(2, 2\)'):
        MODELS.build(cfg)


@pytest.mark.parametrize('extra, message', [
    (dict(spatial_scale=0.5), r'PSRoIExtractor: roi_layer\.spatial_scale is set from'),
    (dict(sampling_ratio=2), r'PSRoIExtractor: roi_layer\.sampling_ratio is not an '
                             r'argument of DeformPSRoIPool'),
    (dict(part_size=0), r'PSRoIExtractor: bad roi_layer'),
])
def test_deform_layer_arguments_are_checked(extra, message):
    with pytest.raises(ValueError, match=message):
        MODELS.build(dict(type='PSRoIExtractor', featmap_strides=[16],
                          roi_layer=dict(type='DeformPSRoIPool', output_size=3, **extra)))
