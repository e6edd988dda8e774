"""What the ONNX deployment tools (tools/deployment/, docs/deployment.md) share: exporters, CPU
sessions of a graph on onnxruntime or OpenVINO, the config and model, an mmdet test batch run."""
import argparse
import contextlib
import functools
import importlib
import importlib.util
import inspect
import io
import json
import os.path as osp
import tempfile
from types import SimpleNamespace
from unittest import mock

import numpy as np
import torch

BACKENDS = ('onnxruntime', 'openvino')  # the runtimes a graph can run on (--backend)
OPENVINO_PIN = 'openvino==2026.4.1'  # the tested release (requirements/constraints-*.txt)
# default and lowest opset: the PS ops' decompositions' (RoiAlign's half_pixel mode, mmcv's
# aligned=True: 16); the dynamo exporter's own (it converts to others with losses)
MIN_OPSET = dict(torchscript=17, dynamo=18)


def _has_dynamo_argument():
    return 'dynamo' in inspect.signature(torch.onnx.export).parameters


def torchscript_exporter():
    """``torch.onnx.export``'s keyword arguments selecting the TorchScript exporter."""
    return dict(dynamo=False) if _has_dynamo_argument() else {}


def available_exporters():
    """The exporters this torch has, the preferred one first (torch 2.1: 'torchscript' only)."""
    found = []
    if _has_dynamo_argument() and importlib.util.find_spec('onnxscript') is not None:
        found.append('dynamo')
    if hasattr(torch.onnx, 'register_custom_op_symbolic'):
        found.append('torchscript')
    return found


def exporter(text):
    """argparse type of ``--exporter``: one this torch has; 'auto': the preferred one."""
    available = available_exporters()
    if text == 'auto':
        return (available or ['torchscript'])[0]
    if text not in available:
        raise argparse.ArgumentTypeError(
            f'{text}: torch {torch.__version__} has {" and ".join(available) or "no exporter"} '
            '(the dynamo exporter needs a torch.onnx.export with dynamo= and onnxscript)')
    return text


def exporter_options(name):
    """``torch.onnx.export``'s keyword arguments for exporter ``name``."""
    if name == 'torchscript':
        return torchscript_exporter()
    import mmdet_psroi.ops
    from mmdet_psroi.deploy import graph_ops

    return dict(dynamo=True, custom_translation_table={
        **mmdet_psroi.ops.onnx_translation_table(), **graph_ops.onnx_translation_table()})


def noise_image(height, width):
    """A ``(1, 3, height, width)`` image of uniform noise in [0, 255) (seed 0)."""
    return torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0)) * 255


def export_detector(graph, image, path, exporter, opset=None):
    """Exports an ``ExportableDetector`` traced on ``image`` to ``path``: ``image`` (any height
    and width) -> ``dets``, ``labels``; ``opset`` defaults to the exporter's ``MIN_OPSET``."""
    if exporter == 'dynamo':
        dynamic = dict(dynamic_shapes=({2: torch.export.Dim.DYNAMIC,
                                        3: torch.export.Dim.DYNAMIC}, ))
    else:
        dynamic = dict(dynamic_axes=dict(image={2: 'height', 3: 'width'}, dets={0: 'num_dets'},
                                         labels={0: 'num_dets'}))
    with torch.no_grad():
        torch.onnx.export(graph, (image, ), path, opset_version=opset or MIN_OPSET[exporter],
                          input_names=['image'], output_names=['dets', 'labels'], **dynamic,
                          **exporter_options(exporter))


def inference_session(model, backend='onnxruntime', threads=0, profile_prefix=None):
    """A CPU session of ``model`` (a path or the bytes of an ONNX model) on ``backend`` with
    ``threads`` threads (0: its default); onnxruntime profiling to ``profile_prefix`` files."""
    if backend == 'openvino':
        return OpenVINOSession(model, threads)
    if backend != 'onnxruntime':
        raise ValueError(missing_backend(backend))
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(model, options, providers=['CPUExecutionProvider'])


def profiled_nodes(model, feeds, threads=0):
    """``[(milliseconds, op_type, node name)]`` of every node of the second onnxruntime run of
    ``model`` on ``feeds`` (the first allocates its memory), slowest first."""
    with tempfile.TemporaryDirectory() as tmp:
        session = inference_session(model, 'onnxruntime', threads, osp.join(tmp, 'profile'))
        for _ in range(2):
            session.run(None, feeds)
        with open(session.end_profiling()) as trace:
            events = json.load(trace)
    last_run = max(event['ts'] for event in events if event['name'] == 'model_run')
    suffix = '_kernel_time'
    nodes = [(event['dur'] / 1000, event['args']['op_name'], event['name'][:-len(suffix)])
             for event in events if event.get('cat') == 'Node' and event['ts'] >= last_run
             and event['name'].endswith(suffix)]
    return sorted(nodes, reverse=True)


class OpenVINOSession:
    """OpenVINO's CPU plugin running ``model`` (a path or bytes of an ONNX model) in float32 with
    ``threads`` threads (0: its default), behind onnxruntime's session interface."""

    def __init__(self, model, threads=0):
        import openvino

        self.model = bytes(model) if isinstance(model, (bytes, bytearray)) else model
        config = {'INFERENCE_PRECISION_HINT': 'f32', 'PERFORMANCE_HINT': 'LATENCY',
                  **({'INFERENCE_NUM_THREADS': threads} if threads else {})}
        core = openvino.Core()
        source = io.BytesIO(self.model) if isinstance(self.model, bytes) else model
        self.compiled = core.compile_model(core.read_model(source), 'CPU', config)
        self.request = self.compiled.create_infer_request()

    @functools.cached_property
    def names(self):
        """The graph's own input (initializers left out) and output names: OpenVINO gives a
        port several names, not always these (read with onnx, which ``run`` does not need)."""
        import onnx

        graph = (onnx.load_model_from_string(self.model) if isinstance(self.model, bytes)
                 else onnx.load(self.model, load_external_data=False)).graph
        initializers = {init.name for init in graph.initializer}
        return ([i.name for i in graph.input if i.name not in initializers],
                [o.name for o in graph.output])

    def get_inputs(self):
        return [SimpleNamespace(name=name) for name in self.names[0]]

    def get_outputs(self):
        return [SimpleNamespace(name=name) for name in self.names[1]]

    def run(self, output_names, feeds):
        if output_names is not None:
            raise ValueError('OpenVINOSession.run returns every output: pass None')
        # each input port gets the feed of the one of its names that feeds has
        results = self.request.infer([feeds[(port.get_names() & feeds.keys()).pop()]
                                      for port in self.compiled.inputs])
        # copies: the request reuses its output buffers on the next call
        return [np.array(results[port], copy=True) for port in self.compiled.outputs]


def missing_backend(backend):
    """Why ``backend`` cannot run here ('' when it can)."""
    if backend not in BACKENDS:
        return f'unknown backend {backend!r}; expected one of {", ".join(BACKENDS)}'
    try:
        __import__(backend)
    except ImportError:
        pin = OPENVINO_PIN if backend == 'openvino' else backend
        return f'the {backend} package is not installed (pip install {pin})'
    return ''


def installed(runtime):
    """argparse type of a runtime option (with ``choices``): a backend must import here."""
    if runtime in BACKENDS and missing_backend(runtime):
        raise argparse.ArgumentTypeError(missing_backend(runtime))
    return runtime


def check_graph(session):
    names = [i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()]
    if names != (['image'], ['dets', 'labels']):
        raise SystemExit(f'the model has inputs {names[0]} and outputs {names[1]}; expected '
                         "['image'] -> ['dets', 'labels'] (tools/deployment/export_onnx.py)")


def run_onnx(session, data_batch):
    """The graph's detections for a test batch of one image as ``pred_instances``."""
    from mmengine.structures import InstanceData

    inputs, samples = data_batch['inputs'], data_batch['data_samples']
    if len(inputs) != 1:
        raise SystemExit(f'the graph takes one image per batch; set '
                         f'test_dataloader.batch_size=1 (got {len(inputs)})')
    dets, labels = session.run(None, {'image': np.ascontiguousarray(inputs[0].float()[None])})
    scale_w, scale_h = samples[0].metainfo['scale_factor']
    boxes = torch.from_numpy(dets[:, :4]) / torch.tensor([scale_w, scale_h] * 2,
                                                         dtype=torch.float32)
    return InstanceData(bboxes=boxes, scores=torch.from_numpy(dets[:, 4]),
                        labels=torch.from_numpy(labels))


@contextlib.contextmanager
def nms_ties_by_index():
    """Within the block, mmcv's ``nms`` (so mmdet's ``batched_nms``) visits boxes of equal
    score by index, as the graph's ``NonMaxSuppression`` does (docs/deployment.md)."""
    from mmdet_psroi.deploy.graph_ops import nms_keep

    # the module, not the function that mmcv.ops re-exports under the same name
    mmcv_nms = importlib.import_module('mmcv.ops.nms')
    original = mmcv_nms.nms

    def nms(boxes, scores, iou_threshold, offset=0, score_threshold=0, max_num=-1):
        if score_threshold or not torch.is_tensor(boxes):
            return original(boxes, scores, iou_threshold, offset, score_threshold, max_num)
        keep = nms_keep(boxes + boxes.new_tensor([0, 0, offset, offset]), scores,
                        iou_threshold, max_num)
        return torch.cat([boxes[keep], scores[keep, None]], dim=1), keep

    with mock.patch.object(mmcv_nms, 'nms', nms):
        yield


def load_config(path, cfg_options=None):
    """The config at ``path`` with ``cfg_options`` merged; mmdet's and the package's modules
    registered."""
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import mmdet_psroi.plugin  # noqa: F401

    register_all_modules()
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def build_test_dataloader(cfg):
    from mmengine.runner import Runner

    return Runner.build_dataloader(cfg.test_dataloader)  # which copies it


def load_pytorch_model(cfg, checkpoint=None, logger='silent'):
    """The config's model in eval mode, ``checkpoint``'s weights or else random ones (seed 0);
    ``logger``: mmengine's ``load_checkpoint``'s, where keys that do not match are reported."""
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint

    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', logger=logger)
    return model.eval()
