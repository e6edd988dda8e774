"""What the export context reproduces of a two-stage detector's RoI head: any
``StandardRoIHead`` (R-FCN's, Light-Head's, Deformable R-FCN's, a user's subclass) whose
``_bbox_forward`` traces, with mmdet's ``predict_bbox`` and RoI extractors the context rewrites
(:mod:`~mmdet_psroi.deploy.export_context`): ``PSRoIExtractor`` and its subclasses that keep
its ``pool`` (they pool with ``pool_level``), and mmdet's ``SingleRoIExtractor`` with mmcv
``RoIAlign`` layers."""
from .errors import UnsupportedExport


def check_roi_head(roi_head) -> None:
    """Raises :class:`UnsupportedExport` naming the first part of ``roi_head`` that the
    exported graph cannot reproduce."""
    from mmdet.models.roi_heads import StandardRoIHead

    if not isinstance(roi_head, StandardRoIHead):
        raise UnsupportedExport('model.roi_head', f'type {type(roi_head).__name__!r}: the export '
                                'reproduces StandardRoIHead and its subclasses')
    if type(roi_head).predict_bbox is not StandardRoIHead.predict_bbox:
        raise UnsupportedExport('model.roi_head', f'{type(roi_head).__name__} has its own '
                                'predict_bbox; the export reproduces StandardRoIHead\'s')
    for part in ('mask_head', 'mask_roi_extractor'):
        if getattr(roi_head, part, None) is not None:
            raise UnsupportedExport(f'model.roi_head.{part}',
                                    'masks are not exported (boxes and labels only)')
    for name, module in roi_head.named_children():
        if hasattr(module, 'map_roi_levels'):  # mmdet's BaseRoIExtractor
            check_roi_extractor(f'model.roi_head.{name}', module)


def check_roi_extractor(where: str, extractor) -> None:
    """Raises :class:`UnsupportedExport` unless ``extractor`` is a ``PSRoIExtractor`` (or a
    subclass keeping its ``pool``) whose layers have a fixed sample grid (any ``rule``), or
    mmdet's ``SingleRoIExtractor`` with mmcv ``RoIAlign`` layers."""
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor

    from mmdet_psroi.models.roi_extractors import PSRoIExtractor

    kind = type(extractor)
    if isinstance(extractor, PSRoIExtractor) and kind.pool is PSRoIExtractor.pool:
        _check_ps_layers(f'{where}.roi_layer', extractor.roi_layers)
    elif kind.forward is SingleRoIExtractor.forward:
        _check_roi_align_layers(f'{where}.roi_layer', extractor.roi_layers)
    else:
        raise UnsupportedExport(where, f'type {kind.__name__!r}: the export pools with '
                                'PSRoIExtractor.pool (overriding pool_level only) or '
                                "mmdet's SingleRoIExtractor")


def _check_ps_layers(where, layers) -> None:
    for layer in layers:
        if getattr(layer, 'sampling_ratio', 1) <= 0:
            raise UnsupportedExport(f'{where}.sampling_ratio',
                                    f'{layer.sampling_ratio}: the adaptive sample grid depends '
                                    'on each RoI\'s size, which the ONNX graph cannot; set a '
                                    'fixed number of samples (e.g. 2)')


def _check_roi_align_layers(where, layers) -> None:
    from mmcv.ops import RoIAlign

    for layer in layers:
        if type(layer) is not RoIAlign:
            raise UnsupportedExport(where, f'type {type(layer).__name__!r}: mmdet\'s '
                                    'SingleRoIExtractor is exported with mmcv RoIAlign only '
                                    '(ONNX RoiAlign)')
        if layer.pool_mode != 'avg':
            raise UnsupportedExport(where, f"pool_mode={layer.pool_mode!r}: ONNX RoiAlign's "
                                    "'max' mode is not mmcv's; use 'avg'")
        if layer.use_torchvision:
            raise UnsupportedExport(where, 'use_torchvision=True: export the mmcv RoIAlign '
                                    '(use_torchvision=False), whose rule ONNX RoiAlign has')
