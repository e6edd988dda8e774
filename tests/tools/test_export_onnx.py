"""tools/deployment/export_onnx.py: arguments, refused configs, no half-written output, and
(slow) a whole tiny R-FCN and the converted configs exported and run in ONNX Runtime."""
import os
import re

import pytest
import torch
from mmengine.config import Config

from tests.deploy.onnx_runtime import exporters
from tests.deploy.test_detector import assert_same_detections
from tests.deploy.tiny_detectors import build_tiny, mmdet_predict, sample_image
from tests.models.tiny import tiny_rfcn_cfg
from tests.tools.tool_module import ROOT, load_tool

export_onnx = load_tool('deployment/export_onnx.py', 'export_onnx')
onnx = pytest.importorskip('onnx')


@pytest.fixture(scope='module')
def tiny_files(tmp_path_factory):
    """A tiny R-FCN config file and a checkpoint of its random weights."""
    root = tmp_path_factory.mktemp('export')
    config = root / 'tiny_rfcn.py'
    Config(dict(model=tiny_rfcn_cfg(roi_layer='PSRoIAlign'), default_scope='mmdet',
                custom_imports=dict(imports=['mmdet_psroi.plugin'], allow_failed_imports=False))
           ).dump(str(config))
    checkpoint = root / 'tiny_rfcn.pth'
    torch.save(dict(state_dict=build_tiny('rfcn_c4_psroialign').state_dict()), checkpoint)
    return str(config), str(checkpoint)


def _main(config, checkpoint, output, *extra):
    export_onnx.main([config, checkpoint, str(output), '--input-shape', '96', '128', *extra])


@pytest.mark.parametrize('extra,message', [
    (['--opset', '16', '--exporter', 'torchscript'],
     '--opset must be >= 17 with the torchscript exporter'),
    (['--opset', '17', '--exporter', 'dynamo'], '--opset must be >= 18 with the dynamo exporter'),
    (['--input-shape', '8', '128'], 'argument --input-shape: must be >= 32, got 8'),
])
def test_bad_arguments_are_refused_before_anything_is_built(tiny_files, tmp_path, extra,
                                                             message, monkeypatch, capsys):
    from mmdet_psroi_tools import onnx_runtime

    # both exporters, as on a newer torch: the opset rule of each is checked here
    monkeypatch.setattr(onnx_runtime, 'available_exporters', lambda: ['dynamo', 'torchscript'])
    with pytest.raises(SystemExit) as error:
        _main(*tiny_files, tmp_path / 'out.onnx', *extra)
    assert message in str(error.value) + capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_an_exporter_this_torch_lacks_is_named_before_anything_is_built(tiny_files, tmp_path,
                                                                        monkeypatch, capsys):
    from mmdet_psroi_tools import onnx_runtime

    monkeypatch.setattr(onnx_runtime, 'available_exporters', lambda: ['torchscript'])
    with pytest.raises(SystemExit):
        _main(*tiny_files, tmp_path / 'out.onnx', '--exporter', 'dynamo')
    assert re.search(r'argument --exporter: dynamo: torch \S+ has torchscript',
                     capsys.readouterr().err)
    assert os.listdir(tmp_path) == []


def test_auto_picks_the_first_exporter_this_torch_has(monkeypatch):
    from mmdet_psroi_tools import onnx_runtime

    for available in (['dynamo', 'torchscript'], ['torchscript']):
        monkeypatch.setattr(onnx_runtime, 'available_exporters', lambda found=available: found)
        monkeypatch.setattr(export_onnx.osp, 'isfile', lambda path: True)
        args = export_onnx.parse_args(['c.py', 'w.pth', 'o.onnx'])
        assert args.exporter == available[0]
        assert args.opset == export_onnx.MIN_OPSET[available[0]]


def test_bad_paths_are_named(tiny_files, tmp_path, capsys):
    config, checkpoint = tiny_files
    with pytest.raises(SystemExit):
        _main(config, str(tmp_path / 'missing.pth'), tmp_path / 'out.onnx')
    assert 'argument checkpoint: no such file' in capsys.readouterr().err
    with pytest.raises(SystemExit, match='output must be a .onnx file'):
        _main(config, checkpoint, tmp_path / 'out.txt')
    with pytest.raises(SystemExit, match='output directory does not exist'):
        _main(config, checkpoint, tmp_path / 'no' / 'out.onnx')


def test_a_config_the_graph_cannot_reproduce_is_named_and_writes_nothing(tiny_files, tmp_path):
    with pytest.raises(SystemExit, match=r"cannot export model\.test_cfg\.rcnn\.nms\.type: "
                                         r"'soft_nms'"):
        _main(*tiny_files, tmp_path / 'out.onnx', '--cfg-options',
              'model.test_cfg.rcnn.nms.type=soft_nms')
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('raises', [True, False])
def test_a_failed_export_leaves_the_output_as_it_was(tiny_files, tmp_path, monkeypatch,
                                                     raises):
    """The exporter fails after writing part of a file, or writes a file that is no valid
    graph (which onnx.checker refuses): either way the old output stays and nothing else."""
    output = tmp_path / 'model.onnx'
    output.write_bytes(b'previous export')

    def broken_export(model, args, path, **kwargs):
        with open(path, 'wb') as f:
            f.write(b'half a graph')
        if raises:
            raise RuntimeError('export failed')

    monkeypatch.setattr(torch.onnx, 'export', broken_export)
    with pytest.raises(Exception) as error:
        _main(*tiny_files, output)
    assert ('export failed' in str(error.value)) == raises
    assert output.read_bytes() == b'previous export'
    assert os.listdir(tmp_path) == ['model.onnx']


def test_checkpoint_keys_that_miss_are_printed(tiny_files, tmp_path, monkeypatch, capsys):
    """A checkpoint that lacks a weight of the model is not exported silently."""
    config, checkpoint = tiny_files
    state = torch.load(checkpoint)['state_dict']
    missing = next(iter(state))
    partial = tmp_path / 'partial.pth'
    torch.save(dict(state_dict={k: v for k, v in state.items() if k != missing}), partial)

    def stop(*args, **kwargs):
        raise RuntimeError('stopped before exporting')

    monkeypatch.setattr(torch.onnx, 'export', stop)
    with pytest.raises(RuntimeError, match='stopped before exporting'):
        _main(config, str(partial), tmp_path / 'out.onnx')
    assert f'missing keys in source state_dict: {missing}' in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize('exporter', exporters())
def test_exports_a_tiny_rfcn_that_onnxruntime_runs_at_other_sizes(tiny_files, tmp_path,
                                                                   exporter):
    ort = pytest.importorskip('onnxruntime')
    output = tmp_path / 'rfcn.onnx'
    _main(*tiny_files, output, '--exporter', exporter)
    model = onnx.load(str(output))
    assert [i.name for i in model.graph.input] == ['image']
    assert [o.name for o in model.graph.output] == ['dets', 'labels']
    session = ort.InferenceSession(str(output), providers=['CPUExecutionProvider'])
    reference = build_tiny('rfcn_c4_psroialign')
    for height, width in ((100, 140), (64, 96)):
        image = sample_image(height, width)
        dets, labels = session.run(None, {'image': image[None].float().numpy()})
        bboxes, scores, expected_labels = mmdet_predict(reference, image)
        assert len(bboxes) > 0
        torch.testing.assert_close(torch.from_numpy(dets[:, :4]), bboxes, rtol=0, atol=1e-2)
        torch.testing.assert_close(torch.from_numpy(dets[:, 4]), scores, rtol=0, atol=1e-4)
        assert labels.tolist() == expected_labels.tolist()


@pytest.mark.slow
@pytest.mark.parametrize('config', [
    'configs/rfcn/converted/rfcn_r101-c4_deformable-convnets_coco.py',  # rule='caffe'
    'projects/DeformableRFCN/configs/converted/'
    'deformable-rfcn_r101-c4-dconv-c5_deformable-convnets_coco.py',  # rule='mxnet'
])
def test_exports_a_converted_config_as_it_is(config, tmp_path):
    """The converted configs export with their original pooling rules: random weights
    (``init_weights``, then Deformable R-FCN's offset convs reset so that the offsets move the
    bins; ResNet-50 for ResNet-101, for time), exported at one size, and onnxruntime's
    detections at another pair with mmdet's ``predict`` (two near ties allowed: PSRoIPool's
    quantised bins give distinct RoIs bitwise-equal scores, and NMS keeps either box)."""
    from mmdet.registry import MODELS

    ort = pytest.importorskip('onnxruntime')
    config = os.path.join(ROOT, config)
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({'model.backbone.depth': 50})
    assert cfg.model.roi_head.bbox_roi_extractor.roi_layer.rule in ('caffe', 'mxnet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    for name, module in model.roi_head.bbox_head.named_children():
        if name.endswith('_offset'):
            module.reset_parameters()
    checkpoint = str(tmp_path / 'random.pth')
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    output = tmp_path / 'converted.onnx'
    _main(config, checkpoint, output, '--exporter', 'torchscript', '--cfg-options',
          'model.backbone.depth=50')
    session = ort.InferenceSession(str(output), providers=['CPUExecutionProvider'])
    image = sample_image(200, 300)
    dets, labels = session.run(None, {'image': image[None].float().numpy()})
    expected = mmdet_predict(model.eval(), image)
    assert len(expected[0]) > 5
    assert_same_detections(torch.from_numpy(dets), torch.from_numpy(labels), expected,
                           box_atol=1e-2, score_atol=1e-4, near_ties=2)
