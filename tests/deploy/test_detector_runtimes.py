"""A whole exported detector on every CPU runtime the docs list (onnxruntime, OpenVINO): the
graph's detections equal the module's (mmdet_psroi.deploy.ExportableDetector, whose own
detections equal mmdet's: tests/deploy/test_detector.py) at image sizes other than the traced
one."""
import io
import warnings

import pytest
import torch

from mmdet_psroi.deploy import ExportableDetector
from mmdet_psroi_tools.onnx_runtime import inference_session, torchscript_exporter
from tests.deploy.test_detector import assert_same_detections
from tests.deploy.tiny_detectors import build_tiny, sample_image
from tests.onnx_runtimes import RUNTIMES

pytest.importorskip('onnx', reason='onnx is not installed (requirements/constraints-*)')


@pytest.fixture(scope='module', params=['rfcn_c4_psroialign', 'rfcn_fpn_psroipool',
                                        'rfcn_fpn_psroipool_caffe_rule', 'lighthead_fpn',
                                        'deformable_rfcn_fpn', 'deformable_rfcn_fpn_mxnet_rule'])
def exported(request):
    graph = ExportableDetector(build_tiny(request.param))
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(graph, (sample_image()[None].float(), ), buffer, opset_version=17,
                          input_names=['image'], output_names=['dets', 'labels'],
                          dynamic_axes=dict(image={2: 'height', 3: 'width'}),
                          **torchscript_exporter())
    return graph, buffer.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize('backend', RUNTIMES)
def test_detections_equal_the_module(exported, backend):
    graph, model = exported
    session = inference_session(model, backend)
    for height, width, seed in ((100, 140, 0), (130, 97, 2)):
        image = sample_image(height, width, seed)[None].float()
        with torch.no_grad():
            dets, labels = graph(image)
        assert len(dets) > 5
        got_dets, got_labels = session.run(None, {'image': image.numpy()})
        assert_same_detections(torch.from_numpy(got_dets), torch.from_numpy(got_labels),
                               (dets[:, :4], dets[:, 4], labels), box_atol=1e-2,
                               score_atol=1e-4, near_ties=1)
