"""mmdet_psroi.deploy.export_context: the rewrites are in place within the context only, and a
position-sensitive head defined nowhere but here exports through the model's own code, with
onnxruntime's detections equal to its ``predict``'s."""
import pytest
import torch

from mmdet_psroi.deploy import ExportableDetector, UnsupportedExport, check_detector
from mmdet_psroi.deploy.export_context import export_context, rewrites
from mmdet_psroi.models.roi_heads import PSMapsRoIHead, RFCNRoIHead
from tests.deploy.test_detector import assert_same_detections
from tests.deploy.tiny_detectors import build_tiny, mmdet_predict, sample_image


def _methods():
    return [(owner, name, owner.__dict__.get(name)) for owner, name, _ in rewrites()]


def test_the_rewrites_hold_within_the_context_only_also_when_it_raises():
    before = _methods()
    assert all(owner.__dict__.get(name) is not new for owner, name, new in rewrites())
    with pytest.raises(RuntimeError, match='inside'):
        with export_context():
            assert all(getattr(owner, name) is new for owner, name, new in rewrites())
            raise RuntimeError('inside')
    assert _methods() == before


class ShiftedRFCNRoIHead(RFCNRoIHead):
    """R-FCN's head with a fixed shift per class added to its logits after its own forward."""

    def _bbox_forward(self, maps, rois):
        results = super()._bbox_forward(maps, rois)
        shift = torch.linspace(-1., 1., results['cls_score'].size(1))
        results['cls_score'] = results['cls_score'] + shift
        return results


class MaxVoteRoIHead(PSMapsRoIHead):
    """A position-sensitive head of its own: R-FCN's maps, voted by the maximum over the bins
    for the classes and by the mean for the boxes."""

    def compute_maps(self, x):
        return tuple(self.bbox_head.forward_maps(level)
                     for level in x[:self.bbox_roi_extractor.num_inputs])

    def _bbox_forward(self, maps, rois):
        pooled = self.bbox_roi_extractor(maps, rois)
        cls_pooled, reg_pooled = self.bbox_head.split_pooled(pooled)
        return dict(cls_score=cls_pooled.amax(dim=(2, 3)), bbox_pred=reg_pooled.mean(dim=(2, 3)),
                    bbox_feats=cls_pooled)


def _test_head_model(head_class, name):
    model = build_tiny(name)
    model.roi_head.__class__ = head_class
    return model


HEADS = [(ShiftedRFCNRoIHead, 'rfcn_c4_psroialign'), (MaxVoteRoIHead, 'rfcn_c4_psroialign'),
         (MaxVoteRoIHead, 'rfcn_fpn_psroipool')]


@pytest.mark.parametrize('head_class,name', HEADS)
def test_a_head_defined_in_a_test_runs_its_own_code_in_the_graph_module(head_class, name):
    model = _test_head_model(head_class, name)
    image = sample_image()
    expected = mmdet_predict(model, image)
    plain = mmdet_predict(build_tiny(name), image)
    assert len(expected[0]) > 5 and not torch.equal(expected[1], plain[1][:len(expected[1])])
    with torch.no_grad():
        dets, labels = ExportableDetector(model)(image[None].float())
    assert_same_detections(dets, labels, expected)


@pytest.mark.slow
@pytest.mark.parametrize('head_class,name', HEADS)
def test_a_head_defined_in_a_test_exports_and_onnxruntime_equals_its_predict(head_class, name):
    from tests.deploy.onnx_runtime import export_session, run

    model = _test_head_model(head_class, name)
    session = export_session(ExportableDetector(model), (sample_image()[None].float(), ),
                             ['image'], dict(image={2: 'height', 3: 'width'}))
    for height, width, seed in ((100, 140, 0), (96, 64, 1)):
        image = sample_image(height, width, seed)
        expected = mmdet_predict(model, image)
        assert len(expected[0]) > 5
        dets, labels = run(session, image[None].float())
        assert_same_detections(dets, labels, expected, box_atol=1e-3, score_atol=1e-5)


def test_a_head_with_its_own_predict_bbox_is_refused():
    class OwnPostProcessing(RFCNRoIHead):
        def predict_bbox(self, *args, **kwargs):
            return super().predict_bbox(*args, **kwargs)

    model = _test_head_model(OwnPostProcessing, 'rfcn_c4_psroialign')
    with pytest.raises(UnsupportedExport, match="model.roi_head: OwnPostProcessing has its own "
                                                'predict_bbox'):
        check_detector(model)


def test_an_extractor_with_its_own_pool_is_refused():
    model = build_tiny('rfcn_fpn_psroipool')
    extractor_class = type(model.roi_head.bbox_roi_extractor)
    model.roi_head.bbox_roi_extractor.__class__ = type(
        'OwnPool', (extractor_class, ), dict(pool=lambda self, *a, **k: None))
    with pytest.raises(UnsupportedExport, match="model.roi_head.bbox_roi_extractor: type "
                                                "'OwnPool'"):
        check_detector(model)
