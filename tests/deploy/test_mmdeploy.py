"""mmdeploy's ``tools/deploy.py`` (1.3.1, in third_party/mmdeploy/) with
``configs/deploy/rfcn_onnxruntime_dynamic.py`` exports R-FCN (PSRoIPool and PSRoIAlign, C4 and
FPN), Light-Head R-CNN and the Faster R-CNN baseline to ONNX graphs of standard operators
only, and mmdeploy's onnxruntime inference (``mmdeploy.apis.inference_model``) gives the
PyTorch model's detections (mmdet's ``inference_detector`` with the same config and
checkpoint). Tiny models with random weights; images whose size is a multiple of the padding
divisor (mmdeploy clips boxes to the padded input, mmdet to the image: docs/deployment.md).

Runs in the environment with mmdeploy (``make env-mmdeploy``, ``make test-mmdeploy``)."""
import importlib
import os
import subprocess
import sys

import pytest

pytest.importorskip('mmdeploy', reason='mmdeploy is not installed: the mmdeploy tests run in '
                                       '.venv-mmdeploy (make test-mmdeploy)')
import onnx  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402

from tests.deploy.tiny_detectors import (  # noqa: E402
    CASES,
    sample_image,
    tiny_faster_rcnn_fpn_cfg,
    tiny_rfcn_cfg,
    tiny_rfcn_fpn_cfg,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY_PY = os.path.join(ROOT, 'third_party', 'mmdeploy', 'tools', 'deploy.py')
DEPLOY_CFG = os.path.join(ROOT, 'configs', 'deploy', 'rfcn_onnxruntime_dynamic.py')
IMAGE_HW = (128, 160)  # a multiple of 32, the largest padding divisor of the models
STANDARD_DOMAINS = ('', 'ai.onnx')

# name -> (model config, package the config imports besides mmdet_psroi)
MODELS = {
    'rfcn_c4_psroipool': (tiny_rfcn_cfg, None),
    'rfcn_c4_psroialign': (CASES['rfcn_c4_psroialign'][0], None),
    'rfcn_fpn_psroipool': (tiny_rfcn_fpn_cfg, None),
    'rfcn_fpn_psroialign': (lambda: tiny_rfcn_fpn_cfg(roi_layer='PSRoIAlign'), None),
    'lighthead_fpn': CASES['lighthead_fpn'],
    # class-agnostic boxes, as the NEON baseline: with a box per class mmdeploy's post-processing
    # keeps only each RoI's top class (mmdet keeps every class above score_thr)
    'faster_rcnn_fpn_roialign': (lambda: tiny_faster_rcnn_fpn_cfg(reg_class_agnostic=True),
                                 None),
}


def write_model(name, work_dir):
    """The tiny model ``name``'s config (with a test pipeline that keeps the image's size)
    and a checkpoint of its random weights, under ``work_dir``: their paths."""
    make_cfg, package = MODELS[name]
    h, w = IMAGE_HW
    # mmdeploy reads test_pipeline, mmdet's inference_detector test_dataloader
    test_pipeline = [dict(type='LoadImageFromFile'),
                     dict(type='Resize', scale=(w, h), keep_ratio=True),
                     dict(type='PackDetInputs')]
    cfg = Config(dict(
        default_scope='mmdet',
        custom_imports=dict(imports=['mmdet_psroi.plugin'] + ([package] if package else []),
                            allow_failed_imports=False),
        model=make_cfg(),
        test_pipeline=test_pipeline,
        test_dataloader=dict(dataset=dict(type='CocoDataset', pipeline=test_pipeline)),
        visualizer=dict(type='DetLocalVisualizer', name='visualizer',
                        vis_backends=[dict(type='LocalVisBackend')])))
    config = os.path.join(work_dir, f'{name}.py')
    cfg.dump(config)
    if package is not None:
        importlib.import_module(package)
    torch.manual_seed(0)
    from mmdet.registry import MODELS as REGISTRY
    checkpoint = os.path.join(work_dir, f'{name}.pth')
    torch.save({'state_dict': REGISTRY.build(cfg.model).state_dict()}, checkpoint)
    return config, checkpoint


def write_image(work_dir):
    import cv2

    path = os.path.join(work_dir, 'image.png')
    cv2.imwrite(path, sample_image(*IMAGE_HW).permute(1, 2, 0).numpy())
    return path


def pytorch_detections(config, checkpoint, image):
    """mmdet's ``inference_detector``, with NMS visiting boxes of equal score by index as
    ONNX ``NonMaxSuppression`` does (random PSRoIPool weights give bitwise-equal scores)."""
    from mmdet.apis import inference_detector, init_detector

    from mmdet_psroi_tools.onnx_runtime import nms_ties_by_index

    model = init_detector(config, checkpoint, device='cpu')
    with nms_ties_by_index(), torch.no_grad():
        return inference_detector(model, image).pred_instances


def mmdeploy_detections(config, onnx_file, image):
    from mmdeploy.apis import inference_model

    return inference_model(config, DEPLOY_CFG, [onnx_file], image, 'cpu')[0].pred_instances


def differences(expected, actual):
    """Each ``expected`` detection matched to the ``actual`` one of the same label with the
    nearest box (each used once): the largest box (px) and score differences, and the number
    of detections left unmatched on either side."""
    unmatched = list(range(len(actual.bboxes)))
    box_diff = score_diff = 0.
    missing = 0
    for box, score, label in zip(expected.bboxes, expected.scores, expected.labels):
        same_label = [j for j in unmatched if actual.labels[j] == label]
        if not same_label:
            missing += 1
            continue
        j = min(same_label, key=lambda j: float((actual.bboxes[j] - box).abs().max()))
        unmatched.remove(j)
        box_diff = max(box_diff, float((actual.bboxes[j] - box).abs().max()))
        score_diff = max(score_diff, abs(float(actual.scores[j] - score)))
    return box_diff, score_diff, missing + len(unmatched)


def custom_domain_ops(onnx_file):
    graph = onnx.load(onnx_file).graph
    return sorted({f'{node.domain}::{node.op_type}' for node in graph.node
                   if node.domain not in STANDARD_DOMAINS})


def check_export(name, config, checkpoint, image, onnx_file):
    """The graph has standard operators only, plain onnxruntime loads it, and mmdeploy's
    inference of it gives the PyTorch model's detections."""
    import onnxruntime

    assert custom_domain_ops(onnx_file) == []
    onnxruntime.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    expected = pytorch_detections(config, checkpoint, image)
    actual = mmdeploy_detections(config, onnx_file, image)
    assert len(expected.bboxes) > 5
    box_diff, score_diff, unmatched = differences(expected, actual)
    print(f'{name}: {len(expected.bboxes)} detections, {unmatched} unmatched, '
          f'max box diff {box_diff:.2e} px, max score diff {score_diff:.2e}')
    assert unmatched == 0 and len(actual.bboxes) == len(expected.bboxes)
    assert box_diff <= 1e-2 and score_diff <= 1e-4


@pytest.mark.slow
def test_deploy_py_exports_rfcn_c4_and_onnxruntime_equals_pytorch(tmp_path):
    """The command of the docs, end to end (it also runs both models on the image)."""
    name = 'rfcn_c4_psroipool'
    config, checkpoint = write_model(name, str(tmp_path))
    image = write_image(str(tmp_path))
    work_dir = tmp_path / 'out'
    subprocess.run([sys.executable, DEPLOY_PY, DEPLOY_CFG, config, checkpoint, image,
                    '--work-dir', str(work_dir), '--device', 'cpu', '--log-level', 'WARNING'],
                   check=True, cwd=ROOT)
    check_export(name, config, checkpoint, image, str(work_dir / 'end2end.onnx'))


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(set(MODELS) - {'rfcn_c4_psroipool'}))
def test_torch2onnx_exports_and_onnxruntime_equals_pytorch(name, tmp_path):
    """The other models through ``mmdeploy.apis.torch2onnx``, the ONNX step of deploy.py, in
    this process (each deploy.py run spawns three processes that import torch and mmdet)."""
    from mmdeploy.apis import torch2onnx

    config, checkpoint = write_model(name, str(tmp_path))
    image = write_image(str(tmp_path))
    torch2onnx(image, str(tmp_path), 'end2end.onnx', DEPLOY_CFG, config, checkpoint, 'cpu')
    check_export(name, config, checkpoint, image, str(tmp_path / 'end2end.onnx'))


def test_deploy_config_inherits_mmdeploy_onnxruntime_detection_and_imports_the_rewriters():
    cfg = Config.fromfile(DEPLOY_CFG)
    assert cfg.backend_config.type == 'onnxruntime'
    assert cfg.onnx_config.opset_version == 17
    assert cfg.onnx_config.dynamic_axes.input == {0: 'batch', 2: 'height', 3: 'width'}
    assert cfg.codebase_config.type == 'mmdet' and cfg.codebase_config.task == 'ObjectDetection'
    assert cfg.codebase_config.module == ['mmdet_psroi.deploy.mmdeploy_rewriters']


def test_the_package_does_not_import_the_rewriters_or_mmdeploy():
    code = ('import sys, mmdet_psroi, mmdet_psroi.deploy, mmdet_psroi.models; '
            'assert "mmdet_psroi.deploy.mmdeploy_rewriters" not in sys.modules; '
            'assert "mmdeploy" not in sys.modules')
    subprocess.run([sys.executable, '-c', code], check=True, cwd=ROOT)
