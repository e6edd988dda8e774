"""The export context: within it, the few functions of mmdet and of this package that an
exported graph cannot trace as written compute the same in traceable form, so that the model's
own test-time code (``model.predict``, the RoI head's ``compute_maps`` and ``_bbox_forward``,
whatever head it is) runs into the graph. Like mmdeploy's function rewriters: each rewrite
replaces one method on its class while the context is open, and the original is back on exit,
also when the block raises.

What is rewritten, and why:

- ``RPNHead.predict_by_feat``: per-level top-k, anchor decoding with the image size as a
  tensor, NMS (:func:`~mmdet_psroi.deploy.rpn_head.predict_by_feat`).
- ``StandardRoIHead.predict_bbox``: the head's own ``_bbox_forward``, then softmax, decoding,
  clipping, ``score_thr``, NMS per class, ``max_per_img``
  (:func:`~mmdet_psroi.deploy.bbox_head.predict_bbox`).
- ``PSRoIExtractor.pool`` and mmdet's ``SingleRoIExtractor.forward``: each RoI pooled once from
  its own level without a branch on how many a level has
  (:mod:`~mmdet_psroi.deploy.roi_pooling`).
"""
import contextlib
from typing import Iterator, List, Tuple

from torch import Tensor

from . import bbox_head, roi_pooling, rpn_head

_MISSING = object()


def rewrites() -> List[Tuple[type, str, object]]:
    """``(class, method name, replacement)`` of each rewrite of :func:`export_context`."""
    from mmdet.models.dense_heads import RPNHead
    from mmdet.models.roi_heads import StandardRoIHead
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor

    from mmdet_psroi.models.roi_extractors import PSRoIExtractor

    return [(RPNHead, 'predict_by_feat', rpn_head.predict_by_feat),
            (StandardRoIHead, 'predict_bbox', bbox_head.predict_bbox),
            (PSRoIExtractor, 'pool', roi_pooling.ps_extractor_pool),
            (SingleRoIExtractor, 'forward', roi_pooling.roi_align_extractor_forward)]


@contextlib.contextmanager
def export_context() -> Iterator[None]:
    """Within the block, the methods of :func:`rewrites` are their graph forms (for every
    instance of the classes and their subclasses that do not override them); on exit the
    classes are as they were."""
    patches = rewrites()
    originals = [(owner, name, owner.__dict__.get(name, _MISSING)) for owner, name, _ in patches]
    try:
        for owner, name, replacement in patches:
            setattr(owner, name, replacement)
        yield
    finally:
        for owner, name, original in reversed(originals):
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def graph_data_sample(img_hw: Tensor):
    """The ``DetDataSample`` of the image the graph predicts: its metainfo ``img_shape`` is the
    ``(2,)`` tensor of the image's (dynamic) height and width, which the rewritten methods read
    as the clip bounds. Set as a field, not through ``metainfo=`` (which deep-copies the
    values, cutting the traced tensor loose from the graph)."""
    from mmdet.structures import DetDataSample

    sample = DetDataSample()
    sample.set_field(img_hw, 'img_shape', field_type='metainfo')
    return sample
