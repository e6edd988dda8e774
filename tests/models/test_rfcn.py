"""RFCN, RFCNRoIHead, PSBBoxHead and PSRoIExtractor inside MMDetection."""
from unittest import mock

import pytest
import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules

import mmdet_psroi.plugin  # noqa: F401
from mmdet_psroi.models import PSRoIExtractor, RFCNRoIHead
from mmdet_psroi.ops import ps_roi_align, ps_roi_pool
from tests.models.tiny import (
    assert_checkpoint_round_trip_predicts_the_same,
    assert_overfitting_halves_the_loss,
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


def direct_maps(head, x):
    """The class and box maps of ``head`` (a ``PSBBoxHead``) on ``x``, computed by its convs
    one by one."""
    hidden = head.conv_hidden(x).relu()
    return head.conv_cls(hidden), head.conv_reg(hidden)


def test_bbox_forward_contract_and_vote():
    model = _build()
    feats = (torch.randn(2, 512, 8, 8), )
    rois = torch.tensor([[0, 10.0, 10.0, 90.0, 80.0], [1, 0.0, 0.0, 127.0, 127.0]])
    out = model.roi_head._bbox_forward(model.roi_head.compute_maps(feats), rois)
    assert out['cls_score'].shape == (2, 3)
    assert out['bbox_pred'].shape == (2, 4)
    assert out['bbox_feats'].shape == (2, 3, 3, 3)
    cls_maps, reg_maps = direct_maps(model.roi_head.bbox_head, feats[0])
    pooled = ps_roi_pool(cls_maps, rois, 3, 1 / 16)
    torch.testing.assert_close(out['bbox_feats'], pooled)
    torch.testing.assert_close(out['cls_score'], pooled.mean(dim=(2, 3)))
    torch.testing.assert_close(out['bbox_pred'],
                               ps_roi_pool(reg_maps, rois, 3, 1 / 16).mean(dim=(2, 3)))


def test_hidden_kernel_size_keeps_the_map_size_and_sees_neighbours():
    torch.manual_seed(0)
    head = MODELS.build(dict(tiny_rfcn_cfg()['roi_head']['bbox_head'], hidden_kernel_size=3))
    assert head.conv_hidden.kernel_size == (3, 3)
    x = torch.zeros(1, 512, 6, 7)
    maps = head.forward_maps(x)
    assert maps.shape == (1, 27 + 36, 6, 7)  # class maps, then box maps
    poked = x.clone()
    poked[0, :, 3, 3] = 1.0
    changed = (head.forward_maps(poked) != maps).any(dim=1)[0]
    assert changed[2:5, 2:5].all() and changed.sum() == 9  # a 3x3 neighbourhood


def test_head_without_hidden_conv_initialises():
    torch.manual_seed(0)
    head = MODELS.build(dict(tiny_rfcn_cfg()['roi_head']['bbox_head'], hidden_channels=0))
    head.init_weights()  # every mmengine Runner calls it
    assert not hasattr(head, 'conv_hidden') and head.conv_cls.in_channels == 512
    assert abs(float(head.conv_cls.weight.detach().std()) - 0.01) < 0.001  # Normal init ran
    assert abs(float(head.conv_reg.weight.detach().std()) - 0.001) < 0.0001
    x = torch.randn(1, 512, 4, 5)
    torch.testing.assert_close(head.forward_maps(x),
                               torch.cat([head.conv_cls(x), head.conv_reg(x)], dim=1))


def test_class_specific_regression_shapes():
    cfg = tiny_rfcn_cfg()
    cfg['roi_head']['bbox_head']['reg_class_agnostic'] = False
    model = MODELS.build(cfg)
    maps = model.roi_head.compute_maps((torch.randn(1, 512, 6, 6), ))
    out = model.roi_head._bbox_forward(maps, torch.tensor([[0, 0, 0, 50.0, 50.0]]))
    assert out['bbox_pred'].shape == (1, 4 * 2)
    assert model.roi_head.bbox_head.conv_reg.out_channels == 3 * 3 * 4 * 2


def test_ohem_sampler_trains():
    ohem = dict(type='OHEMSampler', num=32, pos_fraction=0.25, neg_pos_ub=-1,
                add_gt_as_proposals=True)
    model = _build(rcnn_sampler=ohem)
    losses = model(**_data(model), mode='loss')
    assert torch.isfinite(losses['loss_cls']) and torch.isfinite(losses['loss_bbox'])


def _features_reading_bbox_forward(head):
    """A ``_bbox_forward`` that reads the features, as mmdet's own: it runs the map convs and
    pools the class and box maps with one op call each, per call (the direct computation)."""
    layer = head.bbox_roi_extractor.roi_layers[0]

    def bbox_forward(x, rois):
        cls_maps, reg_maps = direct_maps(head.bbox_head, x[0])
        cls_feats, reg_feats = layer(cls_maps, rois), layer(reg_maps, rois)
        return dict(cls_score=cls_feats.mean(dim=(2, 3)), bbox_pred=reg_feats.mean(dim=(2, 3)),
                    bbox_feats=cls_feats)
    return bbox_forward


def _roi_head_step(model, data, loss):
    """One RoI-head loss by ``loss`` (an unbound ``loss`` method) on the model's own proposals:
    (losses, the number of ``conv_cls`` calls, the sampling results)."""
    head = model.roi_head
    x_rpn, x_roi = model.route_features(model.extract_feat(data['inputs']))
    with torch.no_grad():
        proposals = model.rpn_head.predict(x_rpn, data['data_samples'], rescale=False)
    sampled, sample = [], head.bbox_sampler.sample

    def recording_sample(*args, **kwargs):
        sampled.append(sample(*args, **kwargs))
        return sampled[-1]

    calls = []
    hook = head.bbox_head.conv_cls.register_forward_hook(lambda *args: calls.append(1))
    with mock.patch.object(head.bbox_sampler, 'sample', recording_sample):
        torch.manual_seed(0)
        losses = loss(head, x_roi, proposals, data['data_samples'])
    hook.remove()
    return losses, len(calls), sampled


def test_ohem_pools_the_maps_computed_once_per_step():
    """R-FCN's OHEM (paper, section 2): the loss of every proposal is a pooling of the maps
    the step computes anyway. The sampled RoIs and the losses are those of mmdet's
    StandardRoIHead.loss with a features-reading ``_bbox_forward`` (the direct computation),
    which recomputes the maps for every image's mining."""
    ohem = dict(type='OHEMSampler', num=16, pos_fraction=0.25, neg_pos_ub=-1,
                add_gt_as_proposals=True)
    model = _build(rcnn_sampler=ohem)
    data = _data(model, num_images=2)
    losses, calls, sampled = _roi_head_step(model, data, RFCNRoIHead.loss)
    with mock.patch.object(model.roi_head, '_bbox_forward',
                           _features_reading_bbox_forward(model.roi_head)):
        direct_losses, direct_calls, direct_sampled = _roi_head_step(model, data,
                                                                     StandardRoIHead.loss)
    # direct: the loss, then once per image and mined set (negatives; positives if > 4)
    assert calls == 1 and direct_calls >= 1 + 2
    assert len(sampled) == len(direct_sampled) == 2
    for ours, theirs in zip(sampled, direct_sampled):
        assert len(theirs.neg_inds) == 12  # 3/4 of 16: mined from ~100 negatives
        assert torch.equal(ours.pos_inds, theirs.pos_inds)
        assert torch.equal(ours.neg_inds, theirs.neg_inds)
    assert losses.keys() == direct_losses.keys()
    for key in losses:
        torch.testing.assert_close(losses[key], direct_losses[key])
    sum(losses[key] for key in ('loss_cls', 'loss_bbox')).backward()
    assert model.roi_head.bbox_head.conv_cls.weight.grad.abs().sum() > 0


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


def test_fpn_bbox_forward_pools_class_and_box_maps_with_one_call_per_level():
    """Class and box maps share the k*k channel grouping: one level assignment, one op call
    per level on their concatenation, and the scores of pooling them one by one."""
    model = MODELS.build(tiny_rfcn_fpn_cfg())
    head = model.roi_head
    extractor = head.bbox_roi_extractor
    calls = []
    for level, layer in enumerate(extractor.roi_layers):
        layer.register_forward_hook(
            lambda module, args, out, level=level: calls.append((level, args[0].size(1))))
    strides = extractor.featmap_strides
    x = tuple(torch.randn(2, 32, 512 // s, 512 // s) for s in strides)
    # scales 30, 150, 300, 500 px: levels 0, 1, 2, 3 (finest_scale 56)
    rois = torch.tensor([[0, 10.0, 10.0, 40.0, 40.0], [1, 20.0, 30.0, 170.0, 180.0],
                         [0, 0.0, 0.0, 300.0, 300.0], [1, 5.0, 5.0, 505.0, 505.0]])
    assert extractor.map_roi_levels(rois, 4).tolist() == [0, 1, 2, 3]
    with mock.patch.object(extractor, 'map_roi_levels',
                           wraps=extractor.map_roi_levels) as assign:
        out = head._bbox_forward(head.compute_maps(x), rois)
    assert assign.call_count == 1
    assert sorted(calls) == [(level, 3 * 3 * (3 + 4)) for level in range(4)]
    for level in range(4):
        cls_maps, reg_maps = direct_maps(head.bbox_head, x[level])
        roi = rois[level:level + 1]
        for maps, score in ((cls_maps, out['cls_score']), (reg_maps, out['bbox_pred'])):
            pooled = ps_roi_pool(maps, roi, 3, 1 / strides[level])
            torch.testing.assert_close(score[level:level + 1], pooled.mean(dim=(2, 3)))


def test_extractor_level_hook_gets_the_rows_of_its_rois():
    """``PSRoIExtractor.pool`` assigns levels and hands each level's RoIs, with the matching
    rows of any per-RoI tensor, to the ``pool_level`` hook."""
    class TaggingExtractor(PSRoIExtractor):
        def pool_level(self, level, feat, rois, tag=None):
            kh, kw = self.output_size
            value = tag + 100 * level + rois[:, 1]  # the RoI's x1 says it is the right row
            return value.view(-1, 1, 1, 1).expand(-1, feat.size(1) // (kh * kw), kh, kw)

    extractor = TaggingExtractor(roi_layer=dict(type='PSRoIAlign', output_size=2),
                                 featmap_strides=[4, 8], finest_scale=56)
    feats = (torch.zeros(1, 12, 64, 64), torch.zeros(1, 12, 32, 32))
    rois = torch.tensor([[0, 1.0, 0.0, 200.0, 200.0], [0, 2.0, 5.0, 21.0, 17.0],
                         [0, 3.0, 0.0, 150.0, 150.0]], dtype=torch.float64)  # levels 1, 0, 1
    out = extractor.pool(feats, rois, tag=torch.tensor([10.0, 20.0, 30.0]))
    assert out.shape == (3, 3, 2, 2) and out.dtype == torch.float32
    assert out[:, 0, 0, 0].tolist() == [111.0, 22.0, 133.0]


def test_rfcn_on_fpn_trains():
    model = MODELS.build(tiny_rfcn_fpn_cfg())
    losses = model(**_data(model), mode='loss')
    assert torch.isfinite(losses['loss_cls'])


def test_short_overfit_drives_the_loss_down():
    model = _build()
    data = _data(model, num_images=2, size=96, seed=1)
    assert_overfitting_halves_the_loss(model, data)


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
    (('roi_head', 'bbox_roi_extractor', 'roi_layer'), dict(type='PSRoIPool', output_size=7),
     r'bbox_head.roi_feat_size=\(3, 3\) does not match '
     r'bbox_roi_extractor.roi_layer.output_size=\(7, 7\)'),
    (('roi_head', 'bbox_roi_extractor', 'roi_layer'), dict(type='RoIAlign'),
     r"roi_layer.type must be one of \[.*'PSRoIAlign', .*'PSRoIPool'.*\].*, got 'RoIAlign'"),
    (('roi_head', 'bbox_head', 'roi_feat_size'), 0, 'roi_feat_size must be positive'),
    (('roi_head', 'bbox_roi_extractor', 'roi_layer'), dict(type='PSRoIPool', spatial_scale=0.5),
     'spatial_scale is set from'),
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


def test_k_is_stated_once_and_an_equal_explicit_output_size_is_accepted():
    cfg = tiny_rfcn_cfg(k=2)
    assert 'output_size' not in cfg.roi_head.bbox_roi_extractor.roi_layer
    assert MODELS.build(cfg).roi_head.bbox_roi_extractor.output_size == (2, 2)
    cfg.roi_head.bbox_roi_extractor.roi_layer.output_size = 2  # older configs state it twice
    assert MODELS.build(cfg).roi_head.bbox_roi_extractor.output_size == (2, 2)


def test_roi_layer_type_may_be_a_ps_layer_class_but_not_another_layer():
    from mmcv.ops import RoIAlign

    from mmdet_psroi.ops import PSRoIAlign

    extractor = MODELS.build(dict(type='PSRoIExtractor', featmap_strides=[16],
                                  roi_layer=dict(type=PSRoIAlign, output_size=2,
                                                 sampling_ratio=2)))
    assert type(extractor.roi_layers[0]) is PSRoIAlign
    with pytest.raises(ValueError, match=r'roi_layer.type must be one of .*, got <class '
                                         r"'mmcv.ops.roi_align.RoIAlign'>"):
        MODELS.build(dict(type='PSRoIExtractor', featmap_strides=[16],
                          roi_layer=dict(type=RoIAlign, output_size=2)))


def test_a_box_head_without_maps_is_named():
    cfg = tiny_rfcn_cfg()
    ps_head = cfg.roi_head.bbox_head
    cfg.roi_head.bbox_head = dict(type='Shared2FCBBoxHead', in_channels=4, roi_feat_size=3,
                                  fc_out_channels=8, num_classes=2, bbox_coder=ps_head.bbox_coder)
    with pytest.raises(ValueError, match="RFCNRoIHead: bbox_head type 'Shared2FCBBoxHead' has "
                                         r'no forward_maps\(x\)'):
        MODELS.build(cfg)
