"""RFCN, RFCNRoIHead, PSBBoxHead and PSRoIExtractor inside MMDetection."""
from unittest import mock

import pytest
import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules

import mmdet_psroi  # noqa: F401
from mmdet_psroi.models import RFCNRoIHead
from mmdet_psroi.models.roi_heads.rfcn_roi_head import ScoreMaps
from mmdet_psroi.ops import ps_roi_align, ps_roi_pool
from tests.models.tiny import (
    assert_checkpoint_round_trip_predicts_the_same,
    overfit_loss_history,
    tiny_rfcn_cfg,
    tiny_rfcn_fpn_cfg,
)

register_all_modules()


def _data(model, num_images=2, size=128, seed=0):
    torch.manual_seed(seed)
    packed = demo_mm_inputs(batch_size=num_images, image_shapes=[(3, size, size)] * num_images,
                            num_items=[3] * num_images, num_classes=2)
    return model.data_preprocessor(packed, True)


def _build(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(tiny_rfcn_cfg(**kwargs))


@pytest.mark.parametrize('roi_layer', ['PSRoIPool', 'PSRoIAlign'])
def test_loss_and_predict_shapes(roi_layer):
    model = _build(roi_layer=roi_layer)
    data = _data(model)
    losses = model(**data, mode='loss')
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'acc'):
        assert key in losses
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    assert model.roi_head.bbox_head.conv_cls.weight.grad.abs().sum() > 0

    model.eval()
    with torch.no_grad():
        results = model(**_data(model), mode='predict')
    for sample in results:
        pred = sample.pred_instances
        assert pred.bboxes.shape[1] == 4
        assert len(pred.bboxes) == len(pred.scores) == len(pred.labels) <= 50
        assert torch.isfinite(pred.bboxes).all()
        assert ((pred.labels >= 0) & (pred.labels < 2)).all()


def test_score_maps_are_computed_once_per_image_not_per_roi():
    model = _build()
    model.eval()
    calls = []
    model.roi_head.bbox_head.conv_cls.register_forward_hook(
        lambda module, args, out: calls.append(tuple(out.shape)))
    with torch.no_grad():
        model(**_data(model, num_images=2), mode='predict')
    assert len(calls) == 1  # one conv over the batch of feature maps
    assert calls[0][0] == 2 and calls[0][1] == 3 * 3 * 3  # (N, k*k*(num_classes+1), H, W)


def test_bbox_forward_contract_and_vote():
    model = _build()
    feats = (torch.randn(2, 512, 8, 8), )
    rois = torch.tensor([[0, 10.0, 10.0, 90.0, 80.0], [1, 0.0, 0.0, 127.0, 127.0]])
    out = model.roi_head._bbox_forward(feats, rois)
    assert out['cls_score'].shape == (2, 3)
    assert out['bbox_pred'].shape == (2, 4)
    assert out['bbox_feats'].shape == (2, 3, 3, 3)
    cls_maps, _ = model.roi_head.bbox_head.forward_maps(feats[0])
    pooled = ps_roi_pool(cls_maps, rois, 3, 1 / 16)
    torch.testing.assert_close(out['cls_score'], pooled.mean(dim=(2, 3)))


def test_hidden_kernel_size_keeps_the_map_size_and_sees_neighbours():
    torch.manual_seed(0)
    head = MODELS.build(dict(tiny_rfcn_cfg()['roi_head']['bbox_head'], hidden_kernel_size=3))
    assert head.conv_hidden.kernel_size == (3, 3)
    x = torch.zeros(1, 512, 6, 7)
    cls_maps, reg_maps = head.forward_maps(x)
    assert cls_maps.shape == (1, 27, 6, 7) and reg_maps.shape == (1, 36, 6, 7)
    poked = x.clone()
    poked[0, :, 3, 3] = 1.0
    changed = (head.forward_maps(poked)[0] != cls_maps).any(dim=1)[0]
    assert changed[2:5, 2:5].all() and changed.sum() == 9  # a 3x3 neighbourhood


def test_head_without_hidden_conv_initialises():
    torch.manual_seed(0)
    head = MODELS.build(dict(tiny_rfcn_cfg()['roi_head']['bbox_head'], hidden_channels=0))
    head.init_weights()  # every mmengine Runner calls it
    assert not hasattr(head, 'conv_hidden') and head.conv_cls.in_channels == 512
    assert abs(float(head.conv_cls.weight.detach().std()) - 0.01) < 0.001  # Normal init ran
    assert abs(float(head.conv_reg.weight.detach().std()) - 0.001) < 0.0001
    cls_maps, reg_maps = head.forward_maps(torch.randn(1, 512, 4, 5))
    assert cls_maps.shape == (1, 27, 4, 5) and reg_maps.shape == (1, 36, 4, 5)


def test_class_specific_regression_shapes():
    cfg = tiny_rfcn_cfg()
    cfg['roi_head']['bbox_head']['reg_class_agnostic'] = False
    model = MODELS.build(cfg)
    out = model.roi_head._bbox_forward((torch.randn(1, 512, 6, 6), ),
                                       torch.tensor([[0, 0, 0, 50.0, 50.0]]))
    assert out['bbox_pred'].shape == (1, 4 * 2)
    assert model.roi_head.bbox_head.conv_reg.out_channels == 3 * 3 * 4 * 2


def test_ohem_sampler_trains():
    ohem = dict(type='OHEMSampler', num=32, pos_fraction=0.25, neg_pos_ub=-1,
                add_gt_as_proposals=True)
    model = _build(rcnn_sampler=ohem)
    losses = model(**_data(model), mode='loss')
    assert torch.isfinite(losses['loss_cls']) and torch.isfinite(losses['loss_bbox'])


def _roi_head_step(model, data, loss):
    """One RoI-head loss by ``loss`` (an unbound ``loss`` method) on the model's own proposals:
    (losses, the number of ``forward_maps`` calls, the sampling results)."""
    head = model.roi_head
    x_rpn, x_roi = model.route_features(model.extract_feat(data['inputs']))
    with torch.no_grad():
        proposals = model.rpn_head.predict(x_rpn, data['data_samples'], rescale=False)
    sampled, sample = [], head.bbox_sampler.sample

    def recording_sample(*args, **kwargs):
        sampled.append(sample(*args, **kwargs))
        return sampled[-1]

    with mock.patch.object(head.bbox_head, 'forward_maps',
                           wraps=head.bbox_head.forward_maps) as forward_maps, \
            mock.patch.object(head.bbox_sampler, 'sample', recording_sample):
        torch.manual_seed(0)
        losses = loss(head, x_roi, proposals, data['data_samples'])
    return losses, forward_maps.call_count, sampled


def test_ohem_pools_the_maps_computed_once_per_step():
    """R-FCN's OHEM (paper, section 2): the loss of every proposal is a pooling of the maps
    the step computes anyway. The sampled RoIs and the losses are those of mmdet's
    StandardRoIHead.loss, whose OHEMSampler recomputes the maps once per image."""
    ohem = dict(type='OHEMSampler', num=16, pos_fraction=0.25, neg_pos_ub=-1,
                add_gt_as_proposals=True)
    model = _build(rcnn_sampler=ohem)
    data = _data(model, num_images=2)
    losses, calls, sampled = _roi_head_step(model, data, RFCNRoIHead.loss)
    mmdet_losses, mmdet_calls, mmdet_sampled = _roi_head_step(model, data,
                                                              StandardRoIHead.loss)
    # mmdet's: the loss, then once per image and mined set (negatives; positives if > 4)
    assert calls == 1 and mmdet_calls >= 1 + 2
    assert len(sampled) == len(mmdet_sampled) == 2
    for ours, theirs in zip(sampled, mmdet_sampled):
        assert len(theirs.neg_inds) == 12  # 3/4 of 16: mined from ~100 negatives
        assert torch.equal(ours.pos_inds, theirs.pos_inds)
        assert torch.equal(ours.neg_inds, theirs.neg_inds)
    assert losses.keys() == mmdet_losses.keys()
    for key in losses:
        torch.testing.assert_close(losses[key], mmdet_losses[key], rtol=0, atol=0)
    sum(losses[key] for key in ('loss_cls', 'loss_bbox')).backward()
    assert model.roi_head.bbox_head.conv_cls.weight.grad.abs().sum() > 0


def test_subclass_with_its_own_bbox_forward_gets_features():
    """E.g. a deformable head that pools offset maps too: it keeps mmdet's loss path."""
    class FeatureReadingHead(RFCNRoIHead):
        def _bbox_forward(self, x, rois):
            assert not isinstance(x, ScoreMaps)
            return super()._bbox_forward(x, rois)

    ohem = dict(type='OHEMSampler', num=16, pos_fraction=0.25, neg_pos_ub=-1,
                add_gt_as_proposals=True)
    model = _build(rcnn_sampler=ohem)
    model.roi_head.__class__ = FeatureReadingHead
    losses = model(**_data(model), mode='loss')
    assert torch.isfinite(losses['loss_cls']) and torch.isfinite(losses['loss_bbox'])


def _recording_layers(extractor, monkeypatch):
    """Replaces the extractor's PS layers by ones that record the RoIs they get and return
    ``level + 1/3`` in the map's dtype."""
    seen = []
    for level, layer in enumerate(extractor.roi_layers):
        def pooled(feat, rois, level=level):
            seen.append((level, rois))
            kh, kw = extractor.output_size
            return feat.new_full((len(rois), feat.size(1) // (kh * kw), kh, kw), level + 1 / 3)
        monkeypatch.setattr(layer, 'forward', pooled)
    return seen


def _extractor(num_levels):
    return MODELS.build(dict(type='PSRoIExtractor',
                             roi_layer=dict(type='PSRoIAlign', output_size=2, sampling_ratio=2),
                             featmap_strides=[4, 8][:num_levels], finest_scale=56))


@pytest.mark.parametrize('num_levels', [1, 2])
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_extractor_keeps_rois_in_float32_with_reduced_precision_maps(num_levels, dtype,
                                                                     monkeypatch):
    extractor = _extractor(num_levels)
    seen = _recording_layers(extractor, monkeypatch)
    feats = tuple(torch.zeros(1, 3 * 4, 300 // s, 300 // s, dtype=dtype) for s in (4, 8))
    # in bfloat16, 601 and 1013 would become 600 and 1012 (steps of 4 px in [512, 1024))
    rois = torch.tensor([[0, 601.0, 5.0, 1013.0, 299.0], [0, 3.0, 5.0, 21.0, 17.0]])
    out = extractor(feats[:num_levels], rois)
    assert all(r.dtype == torch.float32 for _, r in seen)
    assert torch.equal(torch.cat([r for _, r in seen]).sort(dim=0).values,
                       rois.sort(dim=0).values)
    assert out.dtype == dtype and out.shape == (2, 3, 2, 2)


def test_multi_level_output_has_the_widest_dtype_of_the_levels(monkeypatch):
    extractor = _extractor(2)
    _recording_layers(extractor, monkeypatch)
    feats = (torch.zeros(1, 12, 64, 64, dtype=torch.bfloat16), torch.zeros(1, 12, 32, 32))
    rois = torch.tensor([[0, 3.0, 5.0, 21.0, 17.0], [0, 0.0, 0.0, 200.0, 200.0]])  # lvl 0, 1
    out = extractor(feats, rois)
    assert out.dtype == torch.float32
    assert (out[1] == torch.tensor(1 + 1 / 3)).all()  # not rounded to bfloat16
    assert (out[0] == torch.tensor(1 / 3, dtype=torch.bfloat16).float()).all()


@pytest.mark.parametrize('fpn', [False, True])
def test_loss_under_bfloat16_autocast(fpn):
    """What ``--amp`` runs on the CPU: bfloat16 maps, float32 RoIs and proposals."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_rfcn_fpn_cfg() if fpn else tiny_rfcn_cfg())
    data = _data(model)
    maps, rois = [], []
    model.roi_head.bbox_head.conv_cls.register_forward_hook(
        lambda module, args, out: maps.append(out.dtype))
    extractor = model.roi_head.bbox_roi_extractor
    extractor.register_forward_pre_hook(lambda module, args: rois.append(args[1].dtype))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(**data, mode='loss')
    assert set(maps) == {torch.bfloat16} and set(rois) == {torch.float32}
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    assert model.roi_head.bbox_head.conv_cls.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('fpn', [False, True])
def test_predict_under_bfloat16_autocast_decodes_proposals_in_float32(fpn):
    """The RPN runs in bfloat16; its proposals are decoded and suppressed in float32 outside
    autocast, as in training, and are those of its (bfloat16) outputs decoded in float32."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_rfcn_fpn_cfg() if fpn else tiny_rfcn_cfg()).eval()
    data = _data(model)
    rpn_outs, handed = [], []
    model.rpn_head.register_forward_hook(lambda module, args, out: rpn_outs.append(out))
    roi_predict = model.roi_head.predict

    def recording_predict(x, rpn_results_list, *args, **kwargs):
        handed.extend(rpn_results_list)
        return roi_predict(x, rpn_results_list, *args, **kwargs)

    with torch.no_grad(), mock.patch.object(model.roi_head, 'predict', recording_predict), \
            torch.autocast('cpu', dtype=torch.bfloat16):
        results = model(**data, mode='predict')
    assert {level.dtype for out in rpn_outs[0] for level in out} == {torch.bfloat16}
    metas = [sample.metainfo for sample in data['data_samples']]
    with torch.no_grad():
        want = model.rpn_head.predict_by_feat(
            *([level.float() for level in out] for out in rpn_outs[0]), batch_img_metas=metas)
    assert len(handed) == len(want) == 2
    for got, expected in zip(handed, want):
        assert got.bboxes.dtype == got.scores.dtype == torch.float32
        assert len(got) > 0
        assert torch.equal(got.bboxes, expected.bboxes)
        assert torch.equal(got.scores, expected.scores)
    assert all(torch.isfinite(sample.pred_instances.bboxes).all() for sample in results)


def test_multi_level_extractor_maps_rois_to_levels():
    extractor = MODELS.build(dict(type='PSRoIExtractor',
                                  roi_layer=dict(type='PSRoIAlign', output_size=2,
                                                 sampling_ratio=2),
                                  featmap_strides=[4, 8], finest_scale=56))
    feats = (torch.randn(1, 3 * 4, 32, 32), torch.randn(1, 3 * 4, 16, 16))
    rois = torch.tensor([[0, 0, 0, 20.0, 20.0], [0, 0, 0, 120.0, 120.0]])  # small, large
    out = extractor(feats, rois)
    assert out.shape == (2, 3, 2, 2)
    torch.testing.assert_close(out[0], ps_roi_align(feats[0], rois[:1], 2, 1 / 4, 2)[0])
    torch.testing.assert_close(out[1], ps_roi_align(feats[1], rois[1:], 2, 1 / 8, 2)[0])


def test_rfcn_on_fpn_trains():
    model = MODELS.build(tiny_rfcn_fpn_cfg())
    losses = model(**_data(model), mode='loss')
    assert torch.isfinite(losses['loss_cls'])


def test_short_overfit_drives_the_loss_down():
    model = _build()
    data = _data(model, num_images=2, size=96, seed=1)
    history = overfit_loss_history(model, data)
    assert history[-1] < 0.5 * history[0], history


def test_checkpoint_save_load_gives_identical_predictions(tmp_path):
    model = _build()
    torch.manual_seed(123)  # a different initialisation, then overwritten by the checkpoint
    other = MODELS.build(tiny_rfcn_cfg())
    assert_checkpoint_round_trip_predicts_the_same(model, other, str(tmp_path / 'rfcn.pth'),
                                                   _data(model, seed=3))


def _with(cfg, path, value):
    node = cfg
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return cfg


WRONG_CONFIGS = [
    (('roi_head', 'bbox_head', 'roi_feat_size'), 7,
     r'bbox_head.roi_feat_size=\(7, 7\).*does not match bbox_roi_extractor.roi_layer.output_size'),
    (('roi_head', 'bbox_roi_extractor', 'roi_layer'), dict(type='RoIAlign', output_size=3),
     r"roi_layer.type must be one of \['PSRoIAlign', 'PSRoIPool'\], got 'RoIAlign'"),
    (('roi_head', 'bbox_roi_extractor', 'roi_layer'), dict(type='PSRoIPool', output_size=0),
     'output_size must be positive'),
    (('roi_head', 'bbox_roi_extractor', 'roi_layer'),
     dict(type='PSRoIPool', output_size=3, spatial_scale=0.5), 'spatial_scale is set from'),
    (('roi_head', 'bbox_head', 'num_classes'), 0, 'num_classes must be a positive int'),
    (('roi_head', 'bbox_head', 'hidden_kernel_size'), 2,
     'hidden_kernel_size must be a positive odd int, got 2'),
    (('roi_in_indices', ), (0, 5), None),  # fails on the first forward, see below
    (('rpn_in_indices', ), 1, r'rpn_in_indices must be None or a non-empty sequence'),
    (('roi_head', 'shared_head'), dict(type='ResLayer', depth=50), 'shared_head is not supported'),
]


@pytest.mark.parametrize('path, value, message', WRONG_CONFIGS)
def test_wrong_configs_fail_with_the_field_named(path, value, message):
    cfg = _with(tiny_rfcn_cfg(), path, value)
    if message is None:
        model = MODELS.build(cfg)
        with pytest.raises(ValueError, match=r'roi_in_indices=\(0, 5\) but the backbone/neck '
                                             'gives 2 feature maps'):
            model(**_data(model), mode='loss')
        return
    with pytest.raises(ValueError, match=message):
        MODELS.build(cfg)


def test_head_in_channels_mismatch_is_named():
    cfg = _with(tiny_rfcn_cfg(), ('roi_head', 'bbox_head', 'in_channels'), 256)
    model = MODELS.build(cfg)
    with pytest.raises(ValueError, match=r'has 512 channels but in_channels=256'):
        model(**_data(model), mode='loss')
