"""tools/deployment/test_onnx.py and benchmark_onnx.py: a tiny R-FCN exported, evaluated with
onnxruntime or OpenVINO and its own PyTorch model on a synthetic COCO set, and timed (its
checkpoint and graph, or random weights that the benchmark exports)."""
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmdet_psroi_tools.onnx_runtime import inference_session, missing_backend, torchscript_exporter
from tests.models.tiny import tiny_experiment_cfg, write_coco_dataset
from tests.onnx_runtimes import RUNTIMES
from tests.tools.tool_module import load_tool

pytest.importorskip('onnxruntime')
test_onnx = load_tool('deployment/test_onnx.py', 'test_onnx')


def test_match_detections_pairs_same_label_nearest_boxes():
    reference = InstanceData(bboxes=torch.tensor([[0., 0, 10, 10], [5, 5, 20, 20]]),
                             scores=torch.tensor([0.9, 0.5]), labels=torch.tensor([0, 1]))
    other = InstanceData(bboxes=torch.tensor([[5.002, 5, 20, 20], [0, 0, 10, 10.001],
                                              [1, 1, 2, 2]]),
                         scores=torch.tensor([0.5, 0.90002, 0.1]),
                         labels=torch.tensor([1, 0, 0]))
    box, score, matched, lost, extra = test_onnx.match_detections(reference, other)
    assert (matched, lost, extra) == (2, 0, 1)
    assert box == pytest.approx(0.002, abs=1e-5) and score == pytest.approx(2e-5, abs=1e-6)


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp('onnx_eval')
    ann_file = write_coco_dataset(str(root / 'data'), num_images=3)
    cfg = tiny_experiment_cfg(str(root / 'data'), ann_file)
    cfg.model.roi_head.bbox_roi_extractor.roi_layer = dict(type='PSRoIAlign', output_size=3,
                                                           sampling_ratio=2)
    config = str(root / 'tiny.py')
    Config(cfg.to_dict()).dump(config)
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import mmdet_psroi.plugin  # noqa: F401  (registers R-FCN)

    register_all_modules()
    checkpoint = str(root / 'tiny.pth')
    torch.manual_seed(0)
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), checkpoint)
    model = str(root / 'tiny.onnx')
    load_tool('deployment/export_onnx.py', 'export_onnx').main(
        [config, checkpoint, model, '--input-shape', '96', '96'])
    return config, checkpoint, model


@pytest.mark.slow
@pytest.mark.parametrize('backend', RUNTIMES)
@pytest.mark.parametrize('ties', [[], ['--nms-ties-by-index']])
def test_onnx_evaluation_matches_the_pytorch_model(exported, capsys, ties, backend):
    config, checkpoint, model = exported
    test_onnx.main([config, model, '--checkpoint', checkpoint, '--backend', backend, *ties])
    out = capsys.readouterr().out
    assert ('(PyTorch NMS: equal scores by index)' in out) == bool(ties), out
    ort_ap = re.search(backend + r': .*coco/bbox_mAP: ([0-9.]+)', out)
    torch_ap = re.search(r'pytorch: .*coco/bbox_mAP: ([0-9.]+)', out)
    assert ort_ap and torch_ap, out
    assert float(ort_ap.group(1)) == pytest.approx(float(torch_ap.group(1)), abs=1e-3)
    counts = re.search(r'(\d+) matched, (\d+) PyTorch ones unmatched, (\d+) ONNX ones '
                       r'unmatched; over matched pairs: max box difference (\S+) px, max score '
                       r'difference (\S+)', out)
    assert counts, out
    matched, lost, extra, box, score = counts.groups()
    assert int(matched) > 0 and (lost, extra) == ('0', '0')
    assert float(box) < 0.01 and float(score) < 1e-4


@pytest.mark.slow
def test_benchmark_prints_every_runtime_and_the_roi_stage(exported, capsys):
    config, checkpoint, model = exported
    backends = [b for b in ('onnxruntime', 'openvino') if not missing_backend(b)]
    load_tool('deployment/benchmark_onnx.py', 'benchmark_onnx').main(
        [config, checkpoint, model, '--rounds', '2', '--images', '2', '--roi-stage',
         '--runtimes', 'pytorch', *backends])
    out = capsys.readouterr().out
    for backend in backends:
        assert re.search(f'time ratio pytorch / {backend}: [0-9.]+x', out), out
        assert re.search(rf'time ratio graph \({backend}\) / compiled op: [0-9.]+x', out), out
    assert re.search(r'RoI stage: PSRoIAlign', out), out


@pytest.mark.slow
def test_benchmark_of_random_weights_prints_latency_memory_and_the_extractor_stage(exported,
                                                                                     capsys):
    config = exported[0]
    load_tool('deployment/benchmark_onnx.py', 'benchmark_onnx').main(
        [config, '--input-shape', '64', '96', '--proposals', '10', '--rounds', '1',
         '--exporter', 'torchscript', '--roi-stage', '--profile'])
    out = capsys.readouterr().out
    assert 'random weights, image (1, 3, 64, 96), 10 proposals, torchscript exporter' in out, out
    assert re.search(r'time ratio pytorch / onnxruntime: [0-9.]+x', out), out
    assert re.search(r'MiB: import-only \d+, pytorch \d+, onnxruntime \d+$', out, re.M), out
    assert re.search(r'RoI stage: PSRoIAlign.* on .*\(10, 5\)', out), out
    assert re.search(r'time ratio graph \(onnxruntime\) / compiled op: [0-9.]+x', out), out
    assert re.search(r'graph profile \(onnxruntime\).* ms in \d+ nodes', out), out


def test_a_missing_openvino_is_named_with_the_option(tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, 'openvino', None)  # import openvino raises ImportError
    config, model = tmp_path / 'c.py', tmp_path / 'm.onnx'
    config.write_text('')
    model.write_bytes(b'')
    with pytest.raises(SystemExit):
        test_onnx.parse_args([str(config), str(model), '--backend', 'openvino'])
    assert re.search(r'argument --backend: the openvino package .*pip install openvino==',
                     capsys.readouterr().err)
    benchmark = load_tool('deployment/benchmark_onnx.py', 'benchmark_onnx')
    with pytest.raises(SystemExit):
        benchmark.parse_args([str(config), str(config), str(model), '--runtimes',
                              'onnxruntime', 'openvino'])
    assert re.search(r'argument --runtimes: the openvino package is not installed',
                     capsys.readouterr().err)


def test_nms_ties_by_index_without_a_checkpoint_is_refused(tmp_path):
    config, model = tmp_path / 'c.py', tmp_path / 'm.onnx'
    config.write_text('')
    model.write_bytes(b'')
    with pytest.raises(SystemExit, match='--nms-ties-by-index .* needs --checkpoint'):
        test_onnx.parse_args([str(config), str(model), '--nms-ties-by-index'])


def test_a_graph_with_other_inputs_is_refused(tmp_path):
    class Other(torch.nn.Module):
        def forward(self, x):
            return x + 1

    path = str(tmp_path / 'other.onnx')
    torch.onnx.export(Other(), (torch.zeros(1, 3),), path, input_names=['x'],
                      **torchscript_exporter())
    with pytest.raises(SystemExit, match=r"expected \['image'\] -> \['dets', 'labels'\]"):
        test_onnx.check_graph(inference_session(path))
