"""mmdet_psroi.deploy.roi_pooling: each RoI pooled once from its own level gives the extractors'
own results (PS, deformable with per-RoI offsets, mmdet's RoIAlign extractor), empty levels
included; the exported FPN graph selects each level's RoIs instead of pooling all of them at
every level, and onnxruntime computes the same."""
import pytest
import torch
from mmdet.registry import MODELS

from mmdet_psroi.deploy.roi_pooling import ps_extractor_pool, roi_align_extractor_forward
from tests.deploy.onnx_runtime import Call, export_bytes, exporters, ort_session

STRIDES = [4, 8, 16, 32]


def _fpn_maps(channels, seed=0, size=256):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(1, channels, size // s, size // s, generator=g) + 3.
                 for s in STRIDES)


def _rois(num=40, seed=0, max_size=700):
    """RoIs of every scale (every level of ``finest_scale=56`` gets some)."""
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(num, 2, generator=g) * 200
    wh = 4 + torch.rand(num, 2, generator=g) ** 2 * max_size
    return torch.cat([torch.zeros(num, 1), xy, xy + wh], 1)


def _ps_extractor(layer):
    import mmdet_psroi.plugin  # noqa: F401

    return MODELS.build(dict(type='PSRoIExtractor', roi_layer=layer, featmap_strides=STRIDES))


LAYERS = [dict(type='PSRoIAlign', output_size=3, sampling_ratio=2),
          dict(type='PSRoIPool', output_size=3)]


@pytest.mark.parametrize('layer', LAYERS)
@pytest.mark.parametrize('num_rois', [40, 3])  # 3: some levels have no RoI
def test_ps_extractor_pool_equals_the_extractors_pool(layer, num_rois):
    extractor = _ps_extractor(layer)
    maps, rois = _fpn_maps(5 * 9), _rois(num_rois)
    levels = extractor.map_roi_levels(rois, 4)
    assert (len(levels.unique()) == 4) == (num_rois == 40)
    for scale in (None, 1.5):
        expected = extractor.pool(maps, rois, scale)
        assert torch.equal(ps_extractor_pool(extractor, maps, rois, scale), expected)


def test_ps_extractor_pool_carries_per_roi_tensors_with_their_rois():
    extractor = _ps_extractor(dict(type='DeformPSRoIPool', output_size=3, part_size=3,
                                   sample_per_part=2, trans_std=0.1))
    maps, rois = _fpn_maps(2 * 9), _rois()
    offset = torch.randn(len(rois), 2, 3, 3, generator=torch.Generator().manual_seed(1))
    expected = extractor(maps, rois, offset=offset)
    assert torch.equal(ps_extractor_pool(extractor, maps, rois, offset=offset), expected)
    assert not torch.equal(ps_extractor_pool(extractor, maps, rois, offset=offset.flip(0)),
                           expected)


def test_roi_align_extractor_forward_equals_mmdet_single_roi_extractor():
    extractor = MODELS.build(dict(
        type='mmdet.SingleRoIExtractor', out_channels=6, featmap_strides=STRIDES,
        roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2, aligned=True)))
    maps, rois = _fpn_maps(6), _rois()
    for scale in (None, 1.5):
        torch.testing.assert_close(roi_align_extractor_forward(extractor, maps, rois, scale),
                                   extractor(maps, rois, scale), rtol=0, atol=1e-6)


@pytest.mark.parametrize('exporter', exporters())
@pytest.mark.parametrize('layer', LAYERS)
def test_the_fpn_graph_pools_each_roi_at_its_own_level_only(exporter, layer):
    """One NonZero per level selects its RoIs and one ScatterND puts the rows back; RoI counts
    other than the traced one, and levels without RoIs, give the extractor's results."""
    extractor = _ps_extractor(layer)
    maps, rois = _fpn_maps(5 * 9), _rois()
    model = export_bytes(Call(lambda *args: ps_extractor_pool(extractor, args[:4], args[4])),
                         (*maps, rois), ['p2', 'p3', 'p4', 'p5', 'rois'],
                         dict(rois={0: 'k'}, **{f'p{i}': {2: f'h{i}', 3: f'w{i}'}
                                                for i in range(2, 6)}), exporter)
    onnx = pytest.importorskip('onnx')
    ops = [node.op_type for node in onnx.load_from_string(model).graph.node]
    assert ops.count('NonZero') == 4 and ops.count('ScatterND') == 1
    session = ort_session(model)
    for case, seed in ((_rois(60, seed=1), 1), (_rois(2, seed=2), 2), (_rois(7, 3, 20), 3)):
        case_maps = _fpn_maps(5 * 9, seed, size=320)
        feed = {f'p{i + 2}': m.numpy() for i, m in enumerate(case_maps)}
        got = session.run(None, dict(feed, rois=case.numpy()))[0]
        torch.testing.assert_close(torch.from_numpy(got), extractor.pool(case_maps, case),
                                   rtol=0, atol=1e-4)


@pytest.mark.parametrize('exporter', exporters())
def test_the_single_level_graph_pools_all_rois_without_selecting(exporter):
    import mmdet_psroi.plugin  # noqa: F401

    extractor = MODELS.build(dict(type='PSRoIExtractor', featmap_strides=[16],
                                  roi_layer=dict(type='PSRoIAlign', output_size=3,
                                                 sampling_ratio=2)))
    maps, rois = _fpn_maps(5 * 9)[2:3], _rois()
    model = export_bytes(Call(lambda m, r: ps_extractor_pool(extractor, (m, ), r)),
                         (maps[0], rois), ['c4', 'rois'], dict(rois={0: 'k'}), exporter)
    onnx = pytest.importorskip('onnx')
    ops = [node.op_type for node in onnx.load_from_string(model).graph.node]
    assert 'NonZero' not in ops and 'ScatterND' not in ops
    got = ort_session(model).run(None, dict(c4=maps[0].numpy(), rois=rois[:9].numpy()))[0]
    torch.testing.assert_close(torch.from_numpy(got), extractor.pool(maps, rois[:9]), rtol=0,
                               atol=1e-4)
