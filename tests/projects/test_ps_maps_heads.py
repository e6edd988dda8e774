"""The shape every position-sensitive RoI head shares (``PSMapsRoIHead``): R-FCN, Deformable
R-FCN and Light-Head R-CNN compute their maps once per training step, with or without OHEM,
and once per inference batch; samplers get the per-image maps."""
from unittest import mock

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

import mmdet_psroi.plugin  # noqa: F401
import projects.DeformableRFCN.deformable_rfcn  # noqa: F401  (registers the modules)
import projects.LightHeadRCNN.lighthead_rcnn  # noqa: F401
from mmdet_psroi.models.roi_heads.ps_maps_roi_head import PSMapsRoIHead
from tests.models.test_rfcn import _data
from tests.models.tiny import tiny_rfcn_cfg
from tests.projects.test_deformable_rfcn import tiny_deformable_cfg
from tests.projects.test_lighthead_rcnn import tiny_lighthead_cfg

register_all_modules()

def _ps_convs(*names):
    return lambda head: {name: getattr(head.bbox_head, name) for name in names}


def _thin_map_convs(head):
    return {name: module for name, module in head.thin_map_conv.named_modules()
            if isinstance(module, torch.nn.Conv2d)}


# name: (tiny config, the convolutions that make the head's maps, by name)
HEADS = {
    'R-FCN': (tiny_rfcn_cfg, _ps_convs('conv_hidden', 'conv_cls', 'conv_reg')),
    'Deformable R-FCN': (tiny_deformable_cfg, _ps_convs('conv_hidden', 'conv_cls', 'conv_reg',
                                                        'conv_cls_offset', 'conv_reg_offset')),
    'Light-Head R-CNN': (tiny_lighthead_cfg, _thin_map_convs),
}
OHEM = dict(type='OHEMSampler', num=16, pos_fraction=0.25, neg_pos_ub=-1,
            add_gt_as_proposals=True)
RANDOM = dict(OHEM, type='RandomSampler')


def _build(name, sampler):
    torch.manual_seed(0)
    return MODELS.build(HEADS[name][0](rcnn_sampler=sampler))


def _count(convs):
    calls = {name: [] for name in convs}
    for name, conv in convs.items():
        conv.register_forward_hook(
            lambda module, args, out, name=name: calls[name].append(out.size(0)))
    return calls


@pytest.mark.parametrize('sampler', [RANDOM, OHEM], ids=['random', 'ohem'])
@pytest.mark.parametrize('name', list(HEADS))
def test_map_convs_run_once_per_training_step_and_inference_batch(name, sampler):
    model = _build(name, sampler)
    head = model.roi_head
    assert isinstance(head, PSMapsRoIHead)
    convs = HEADS[name][1](head)
    assert len(convs) >= 3
    calls = _count(convs)
    with mock.patch.object(head, '_bbox_forward', wraps=head._bbox_forward) as bbox_forward:
        losses = model(**_data(model, num_images=2), mode='loss')
    # one call per conv, over the batch of 2 images
    assert calls == {conv: [2] for conv in convs}
    # OHEM mines on each image's slice of the same maps: more poolings, no more convs
    pooled = bbox_forward.call_count
    assert pooled >= 1 + 2 if sampler is OHEM else pooled == 1
    total, _ = model.parse_losses(losses)
    total.backward()
    model.eval()
    for conv_calls in calls.values():
        conv_calls.clear()
    with torch.no_grad():
        model(**_data(model, num_images=2), mode='predict')
    assert calls == {conv: [2] for conv in convs}


class _RecordingSampler:
    """Wraps a sampler; records the ``feats`` it gets and what ``_bbox_forward`` gives on
    them (the contract a sampler may rely on)."""

    def __init__(self, sampler):
        self.sampler, self.feats = sampler, []

    def sample(self, *args, feats=None, **kwargs):
        self.feats.append(feats)
        return self.sampler.sample(*args, feats=feats, **kwargs)


@pytest.mark.parametrize('name', list(HEADS))
def test_sampler_gets_each_images_maps(name):
    model = _build(name, RANDOM)
    head = model.roi_head
    recorder = _RecordingSampler(head.bbox_sampler)
    head.bbox_sampler = recorder
    data = _data(model, num_images=2)
    model(**data, mode='loss')
    with torch.no_grad():
        _, x_roi = model.route_features(model.extract_feat(data['inputs']))
        maps = head.compute_maps(x_roi)
    assert len(recorder.feats) == 2
    rois = torch.tensor([[0, 10.0, 10.0, 90.0, 80.0]])
    for i, feats in enumerate(recorder.feats):
        assert len(feats) == len(maps)
        for image_maps, batch_maps in zip(feats, maps):
            assert image_maps.shape == (1, ) + batch_maps.shape[1:]
            torch.testing.assert_close(image_maps.detach(), batch_maps[i:i + 1])
        with torch.no_grad():
            out = head._bbox_forward(feats, rois)
        assert out['cls_score'].shape == (1, 3) and out['bbox_pred'].shape == (1, 4)


@pytest.mark.parametrize('name', list(HEADS))
def test_mask_heads_are_refused_with_the_field_named(name):
    cfg = HEADS[name][0]()
    cfg['roi_head']['mask_head'] = dict(type='FCNMaskHead')
    with pytest.raises(ValueError, match=r'mask_head is not supported.*remove '
                                         r'roi_head.mask_head'):
        MODELS.build(cfg)


def _ps_names(*convs):
    return sorted(f'bbox_head.{conv}.{p}' for conv in convs for p in ('weight', 'bias'))


# the RoI heads' parameters as checkpoints trained before hold them
CHECKPOINT_NAMES = {
    'R-FCN': _ps_names('conv_hidden', 'conv_cls', 'conv_reg'),
    'Deformable R-FCN': _ps_names('conv_hidden', 'conv_cls', 'conv_reg', 'conv_cls_offset',
                                  'conv_reg_offset'),
    'Light-Head R-CNN': sorted(
        [f'thin_map_conv.{branch}.{i}.{p}' for branch in ('col_then_row', 'row_then_col')
         for i in (0, 1) for p in ('weight', 'bias')]
        + [f'bbox_head.{fc}.{p}' for fc in ('shared_fcs.0', 'fc_cls', 'fc_reg')
           for p in ('weight', 'bias')]),
}


@pytest.mark.parametrize('name', list(HEADS))
def test_checkpoints_trained_before_keep_loading(name):
    """The heads keep their parameter names, so earlier checkpoints load without a
    conversion."""
    model = _build(name, RANDOM)
    assert sorted(model.roi_head.state_dict()) == CHECKPOINT_NAMES[name]
