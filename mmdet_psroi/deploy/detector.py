"""A two-stage detector's whole test-time inference as one module with tensor inputs and
outputs, which ``torch.onnx.export`` turns into a graph of standard ONNX operators."""
from typing import Tuple

import torch
from torch import Tensor, nn

from .boxes import decodes_in_graph
from .errors import UnsupportedExport
from .export_context import export_context, graph_data_sample
from .preprocessor import GraphPreprocessor, image_hw
from .roi_heads import check_roi_head

# mmcv ops that export to mmcv's own ONNX domain, not to standard operators
CUSTOM_DOMAIN_LAYERS = ('DeformConv2d', 'DeformConv2dPack', 'ModulatedDeformConv2d',
                        'ModulatedDeformConv2dPack')


class ExportableDetector(nn.Module):
    """``model.predict(image, rescale=False)`` for one image, with tensors in and out.

    The model's own ``predict`` runs (the backbone and neck, the RPN's head, the RoI head's
    ``compute_maps`` and ``_bbox_forward``, whatever head it is) inside
    :func:`~mmdet_psroi.deploy.export_context.export_context`, which gives the steps a graph
    cannot trace as written their graph form: :class:`GraphPreprocessor` (channel order,
    normalisation, padding), the RPN's post-processing (per-level ``nms_pre`` top-k, anchor
    decoding and clipping, ``min_bbox_size``, NMS across levels, ``max_per_img``), the RoI
    extractors' per-level pooling and the RoI head's post-processing (softmax, decoding and
    clipping, ``score_thr``, NMS per class, ``max_per_img``), all with the model's
    ``test_cfg``. Outside: loading and resizing the image (the test pipeline), and dividing
    the boxes by the resize's scale factor (mmdet's ``rescale=True``).

    Args:
        model: an mmdet two-stage detector in eval mode. Anything the graph cannot reproduce
            raises :class:`UnsupportedExport` (:func:`check_detector`).

    Shapes: ``forward(image)``: ``(1, 3, H, W)`` float32 -> ``dets`` ``(N, 5)`` (x1, y1,
    x2, y2, score in the pixels of ``image``, by descending score) and ``labels`` ``(N,)``
    int64.
    """

    def __init__(self, model) -> None:
        super().__init__()
        check_detector(model)
        self.preprocess = GraphPreprocessor(model.data_preprocessor)
        self.model = model
        # test time: eval mode for the whole module (torch.onnx.export restores the mode it
        # finds, which would otherwise be a new module's training mode, BN statistics updating)
        self.eval()

    def forward(self, image: Tensor) -> Tuple[Tensor, Tensor]:
        sample = graph_data_sample(image_hw(image))
        with export_context():
            sample, = self.model.predict(self.preprocess(image), [sample], rescale=False)
        pred = sample.pred_instances
        return torch.cat([pred.bboxes, pred.scores[:, None]], dim=1), pred.labels


def check_detector(model) -> None:
    """Raises :class:`UnsupportedExport` naming the first part of ``model`` (or of its
    ``test_cfg``) that :class:`ExportableDetector` cannot reproduce."""
    from mmdet.models.detectors import TwoStageDetector

    if not isinstance(model, TwoStageDetector):
        raise UnsupportedExport('model', f'type {type(model).__name__!r}; the export '
                                "reproduces mmdet's two-stage detectors (TwoStageDetector and "
                                'its subclasses)')
    for part in ('backbone', 'neck'):
        for module_name, module in getattr(model, part, nn.Identity()).named_modules():
            if type(module).__name__ in CUSTOM_DOMAIN_LAYERS:
                raise UnsupportedExport(f'model.{part}', f'{module_name} is an mmcv '
                                        f'{type(module).__name__} (e.g. dcn=...), which has no '
                                        'standard ONNX form')
    if not getattr(model, 'with_rpn', False):
        raise UnsupportedExport('model.rpn_head', 'missing: the graph computes its own '
                                'proposals (precomputed proposals are not an input)')
    rpn_head = model.rpn_head
    _check_type('model.rpn_head', rpn_head, 'RPNHead')
    _check_anchor_generator('model.rpn_head.anchor_generator', rpn_head.prior_generator)
    _check_coder('model.rpn_head.bbox_coder', rpn_head.bbox_coder)
    check_roi_head(model.roi_head)
    bbox_head = model.roi_head.bbox_head
    _check_coder('model.roi_head.bbox_head.bbox_coder', bbox_head.bbox_coder)
    if bbox_head.custom_cls_channels:
        raise UnsupportedExport('model.roi_head.bbox_head.loss_cls',
                                f'{type(bbox_head.loss_cls).__name__} has its own score '
                                'activation; the export applies softmax')
    rpn_cfg = rpn_head.test_cfg
    _check_nms('model.test_cfg.rpn', rpn_cfg)
    if not rpn_cfg.get('max_per_img', 0) > 0:
        raise UnsupportedExport('model.test_cfg.rpn.max_per_img',
                                f'{rpn_cfg.get("max_per_img")!r}; expected a positive int')
    _check_nms('model.test_cfg.rcnn', model.roi_head.test_cfg)


def _check_type(where, obj, expected):
    if type(obj).__name__ != expected:
        raise UnsupportedExport(where, f'type {type(obj).__name__!r}; the export reproduces '
                                f'{expected} only')


def _check_anchor_generator(where, generator):
    from mmdet.models.task_modules.prior_generators import AnchorGenerator

    # the graph shifts the generator's own base anchors (rpn_head.grid_anchors)
    if not (isinstance(generator, AnchorGenerator)
            and type(generator).single_level_grid_priors
            is AnchorGenerator.single_level_grid_priors):
        raise UnsupportedExport(where, f'type {type(generator).__name__!r}; the export '
                                "reproduces AnchorGenerator's grid of its base anchors (and "
                                'of the subclasses that keep single_level_grid_priors)')


def _check_coder(where, coder):
    if not decodes_in_graph(coder):
        raise UnsupportedExport(where, f'type {type(coder).__name__!r}; the export reproduces '
                                "DeltaXYWHBBoxCoder's decode and coders whose own decode "
                                'traces (traceable_decode = True)')


def _check_nms(where, cfg):
    nms = cfg.get('nms') if cfg is not None else None
    if nms is None:
        raise UnsupportedExport(f'{where}.nms', 'missing')
    if nms.get('type', 'nms') != 'nms':
        raise UnsupportedExport(f'{where}.nms.type', f"{nms.get('type')!r}: the graph has "
                                "ONNX NonMaxSuppression, i.e. type='nms'")
    unknown = set(nms) - {'type', 'iou_threshold', 'class_agnostic', 'split_thr', 'offset'}
    if unknown:
        raise UnsupportedExport(f'{where}.nms', f'keys {sorted(unknown)} are not exported')
    if nms.get('offset', 0) not in (0, 1):
        raise UnsupportedExport(f'{where}.nms.offset', f"{nms.get('offset')!r}; mmcv's nms "
                                'takes 0 or 1')
