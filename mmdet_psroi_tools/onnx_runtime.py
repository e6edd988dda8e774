"""What the ONNX deployment tools (tools/deployment/) share: the exporter selection, the
onnxruntime session, and running an exported detector on an mmdet test batch."""
import contextlib

EXPORTERS = ('torchscript', 'dynamo')
DYNAMO_MIN_OPSET = 18  # the dynamo exporter's own opset (it converts to others with losses)


def torchscript_exporter():
    """``torch.onnx.export``'s keyword arguments that select the TorchScript exporter: torch
    >= 2.5 has both exporters (``dynamo=False``), torch 2.1 only this one."""
    return dict(dynamo=False) if _has_dynamo_argument() else {}


def _has_dynamo_argument():
    import inspect

    import torch

    return 'dynamo' in inspect.signature(torch.onnx.export).parameters


def available_exporters():
    """The exporters this torch has, the preferred one first: 'dynamo' (``torch.export`` with
    onnxscript translations) where ``torch.onnx.export`` takes ``dynamo=`` and onnxscript
    imports, and 'torchscript' where ``torch.onnx`` still has it (torch 2.1 to 2.x)."""
    import importlib.util

    import torch

    found = []
    if _has_dynamo_argument() and importlib.util.find_spec('onnxscript') is not None:
        found.append('dynamo')
    if hasattr(torch.onnx, 'register_custom_op_symbolic'):
        found.append('torchscript')
    return found


def exporter_options(exporter):
    """``torch.onnx.export``'s keyword arguments for ``exporter`` ('torchscript' or 'dynamo'),
    with the translations of the package's operators for the dynamo exporter. Raises
    SystemExit naming the exporters this torch has when it lacks ``exporter``."""
    import torch

    available = available_exporters()
    if exporter not in available:
        raise SystemExit(f'--exporter {exporter}: torch {torch.__version__} has '
                         f'{" and ".join(available) or "no ONNX exporter"} (the dynamo exporter '
                         'needs torch >= 2.6 and onnxscript, see requirements)')
    if exporter == 'torchscript':
        return torchscript_exporter()
    import mmdet_psroi.ops
    from mmdet_psroi.deploy import graph_ops

    return dict(dynamo=True, custom_translation_table={
        **mmdet_psroi.ops.onnx_translation_table(), **graph_ops.onnx_translation_table()})


def export_detector(graph, image, path, opset, exporter):
    """``torch.onnx.export`` of an ``ExportableDetector`` traced on ``image`` to ``path``
    with ``exporter``: input ``image`` with dynamic height and width, outputs ``dets`` and
    ``labels``."""
    import torch

    if exporter == 'dynamo':
        dynamic = dict(dynamic_shapes=({2: torch.export.Dim.DYNAMIC,
                                        3: torch.export.Dim.DYNAMIC}, ))
    else:
        dynamic = dict(dynamic_axes=dict(image={2: 'height', 3: 'width'}, dets={0: 'num_dets'},
                                         labels={0: 'num_dets'}))
    with torch.no_grad():
        torch.onnx.export(graph, (image, ), path, opset_version=opset, input_names=['image'],
                          output_names=['dets', 'labels'], **dynamic,
                          **exporter_options(exporter))


def ort_session(model, threads=0):
    """An onnxruntime CPU session of ``model`` (a path or the bytes of a model) with
    ``threads`` intra-op threads (0: onnxruntime's default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=['CPUExecutionProvider'])


def check_graph(session):
    names = [i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()]
    if names != (['image'], ['dets', 'labels']):
        raise SystemExit(f'the model has inputs {names[0]} and outputs {names[1]}; expected '
                         "['image'] -> ['dets', 'labels'] (tools/deployment/export_onnx.py)")


def run_onnx(session, data_batch):
    """The graph's detections for a test batch of one image, as mmdet's ``pred_instances``
    in original-image pixels."""
    import numpy as np
    import torch
    from mmengine.structures import InstanceData

    inputs, samples = data_batch['inputs'], data_batch['data_samples']
    if len(inputs) != 1:
        raise SystemExit(f'the graph takes one image per batch; set '
                         f'test_dataloader.batch_size=1 (got {len(inputs)})')
    image = inputs[0].float().unsqueeze(0).numpy()
    dets, labels = session.run(None, {'image': np.ascontiguousarray(image)})
    scale_w, scale_h = samples[0].metainfo['scale_factor']
    boxes = torch.from_numpy(dets[:, :4]) / boxes_scale(scale_w, scale_h)
    return InstanceData(bboxes=boxes, scores=torch.from_numpy(dets[:, 4]),
                        labels=torch.from_numpy(labels))


@contextlib.contextmanager
def nms_ties_by_index():
    """Within the block, mmcv's ``nms`` (and so ``batched_nms``, which mmdet's RPN and
    RoI-head post-processing call) visits boxes of equal score by index, as the exported
    graph's ONNX ``NonMaxSuppression`` does, instead of in the order of torch's unstable sort.
    Only the boxes kept among overlapping boxes of bitwise-equal score can change."""
    import importlib

    import torch

    from mmdet_psroi.deploy.graph_ops import nms_keep

    # the module, not the function that mmcv.ops re-exports under the same name
    mmcv_nms = importlib.import_module('mmcv.ops.nms')
    original = mmcv_nms.nms

    def nms(boxes, scores, iou_threshold, offset=0, score_threshold=0, max_num=-1):
        if offset or score_threshold or not torch.is_tensor(boxes):
            return original(boxes, scores, iou_threshold, offset, score_threshold, max_num)
        keep = nms_keep(boxes, scores, iou_threshold, max_num)
        return torch.cat([boxes[keep], scores[keep, None]], dim=1), keep

    mmcv_nms.nms = nms
    try:
        yield
    finally:
        mmcv_nms.nms = original


def boxes_scale(scale_w, scale_h):
    import torch

    return torch.tensor([scale_w, scale_h, scale_w, scale_h], dtype=torch.float32)


def load_pytorch_model(cfg, checkpoint):
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint

    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    return model.eval()
