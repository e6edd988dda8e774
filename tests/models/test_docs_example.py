"""The new-head example of docs/models.md ("A new head in a few lines"), run as it stands there:
its class trains and predicts on the tiny model, and its config builds."""
import os
import re

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config, ConfigDict

from tests.models.test_rfcn import _data
from tests.models.tiny import tiny_rfcn_cfg

register_all_modules()

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALPHA, K = 4, 3


def docs_example_blocks():
    """The python blocks under the docs' "A new head in a few lines" heading: the class, the
    config."""
    with open(os.path.join(ROOT, 'docs', 'models.md')) as f:
        text = f.read()
    section = text.split('### A new head in a few lines', 1)[1].split('\n## ', 1)[0]
    return re.findall(r'```python\n(.*?)```', section, flags=re.S)


@pytest.fixture(scope='module')
def head_class():
    code, _ = docs_example_blocks()
    namespace = {}
    exec(compile(code, 'docs/models.md', 'exec'), namespace)
    yield namespace['ThinMapsRoIHead']
    MODELS.module_dict.pop('ThinMapsRoIHead')


def tiny_thin_maps_cfg():
    """The tiny R-FCN with the example head on conv5: ALPHA*K*K thin maps, 2 fc of 64."""
    cfg = tiny_rfcn_cfg(roi_layer='PSRoIAlign')
    ps_head = cfg.roi_head.bbox_head
    cfg.roi_head = ConfigDict(
        type='ThinMapsRoIHead', in_channels=512,
        bbox_roi_extractor=cfg.roi_head.bbox_roi_extractor,
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=ALPHA, roi_feat_size=K,
                       fc_out_channels=64, num_classes=ps_head.num_classes,
                       reg_class_agnostic=True, bbox_coder=ps_head.bbox_coder,
                       loss_cls=ps_head.loss_cls, loss_bbox=ps_head.loss_bbox))
    return cfg


def test_example_head_trains_and_predicts(head_class):
    torch.manual_seed(0)
    model = MODELS.build(tiny_thin_maps_cfg())
    head = model.roi_head
    assert isinstance(head, head_class)
    assert head.thin_maps.out_channels == ALPHA * K * K
    assert head.bbox_roi_extractor.output_size == (K, K)
    calls = []
    head.thin_maps.register_forward_hook(lambda *args: calls.append(1))
    losses = model(**_data(model), mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total) and losses['loss_bbox'] > 0
    total.backward()
    assert head.thin_maps.weight.grad.abs().sum() > 0
    assert len(calls) == 1  # the maps, once per step

    model.eval()
    with torch.no_grad():
        results = model(**_data(model, seed=1), mode='predict')
    assert len(calls) == 2
    for sample in results:
        pred = sample.pred_instances
        assert 0 < len(pred.bboxes) == len(pred.scores) <= 50
        assert torch.isfinite(pred.bboxes).all()


def test_example_config_builds_on_the_rfcn_model_base(head_class, tmp_path):
    _, config = docs_example_blocks()
    path = tmp_path / 'thin_maps.py'
    base = os.path.join(ROOT, 'configs', '_base_', 'models', 'rfcn_r50-c4.py')
    path.write_text(f'_base_ = {base!r}\n\n{config}')
    head = MODELS.build(Config.fromfile(str(path)).model.roi_head)
    assert isinstance(head, head_class)
    assert head.thin_maps.in_channels == 2048 and head.thin_maps.out_channels == 10 * 7 * 7
    assert head.bbox_roi_extractor.output_size == (7, 7)
    assert head.bbox_head.reg_class_agnostic and head.bbox_head.num_classes == 80
