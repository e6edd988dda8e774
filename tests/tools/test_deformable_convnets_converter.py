"""The Deformable-ConvNets converter: the authors' R-FCN and Deformable R-FCN built in MXNet
itself (tests/tools/mxnet_reference.py, random weights, run in the MXNet environment that
MMDET_PSROI_MXNET_PYTHON names) and the mmdet configs loaded with the converted checkpoint agree
on one image: the RPN's outputs, proposals and scores, every given RoI's class probabilities and
box deltas, and the final detections of the given RoIs (less those whose scores tie exactly,
which NMS may visit in either order). Also the converter's refusals of files that do not fit."""
import os
import struct
import subprocess

import numpy as np
import pytest
import torch

from tests.tools.tool_module import ROOT, load_tool

converter = load_tool('model_converters/deformable_convnets_to_mmdet.py',
                      'deformable_convnets_to_mmdet')
MXNET_PYTHON = os.environ.get('MMDET_PSROI_MXNET_PYTHON')
REFERENCE = os.path.join(ROOT, 'tests', 'tools', 'mxnet_reference.py')
CONFIGS = {
    ('rfcn', 'voc'): 'configs/rfcn/converted/rfcn_r101-c4_deformable-convnets_voc0712.py',
    ('rfcn_dcn', 'coco'): 'projects/DeformableRFCN/configs/converted/'
                          'deformable-rfcn_r101-c4-dconv-c5_deformable-convnets_coco.py',
}
TOLERANCE = 1e-4  # probabilities, scores, deltas
# Box corners in pixels: float32 deltas times anchors up to 736 pixels wide; 1e-6 in a delta
# (the precision of 101 float32 layers) moves a corner by up to 7e-4.
BOX_TOLERANCE = 1e-3


def mxnet_reference(model, dataset, out_dir):
    """Runs the MXNet reference; a configured but broken MXNet environment fails the test."""
    if not MXNET_PYTHON:
        pytest.skip('MXNet parity not run: MMDET_PSROI_MXNET_PYTHON is not set (make env-mxnet '
                    'creates .venv-mxnet; make test-main sets it to .venv-mxnet/bin/python)')
    if not os.access(MXNET_PYTHON, os.X_OK):
        pytest.fail(f'MMDET_PSROI_MXNET_PYTHON={MXNET_PYTHON} is not an executable python '
                    '(make env-mxnet creates .venv-mxnet/bin/python)')
    result = subprocess.run([MXNET_PYTHON, REFERENCE, '--model', model, '--dataset', dataset,
                             str(out_dir)], capture_output=True, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, (f'the MXNet reference failed in {MXNET_PYTHON}:\n'
                                    f'{result.stdout}\n{result.stderr}')
    return dict(np.load(os.path.join(out_dir, 'reference.npz')))


def converted_model(config, checkpoint):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    register_all_modules()
    cfg = Config.fromfile(os.path.join(ROOT, config))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.eval()


def mmdet_outputs(model, image_bgr, rois, detection_rois):
    """What the mmdet model computes on the image, as the reference saves it: the RPN's outputs
    and proposals, the head's outputs for ``rois`` and the detections of ``detection_rois``."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    height, width = image_bgr.shape[:2]
    sample = DetDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                         scale_factor=(1.0, 1.0)))
    data = model.data_preprocessor(
        dict(inputs=[torch.from_numpy(image_bgr).permute(2, 0, 1).contiguous()],
             data_samples=[sample]), False)
    inputs, samples = data['inputs'], data['data_samples']
    with torch.no_grad():
        x_rpn, x_roi = model.route_features(model.extract_feat(inputs))
        rpn_logits, rpn_deltas = (level[0] for level in model.rpn_head(x_rpn))
        proposals = model._proposals(x_rpn, samples)[0]
        head = model.roi_head._bbox_forward(model.roi_head.compute_maps(x_roi),
                                            torch.from_numpy(rois))
        samples[0].proposals = InstanceData(bboxes=torch.from_numpy(detection_rois[:, 1:]))
        detections = model.predict(inputs, samples, rescale=True)[0].pred_instances
    return dict(rpn_object_prob=rpn_logits.sigmoid().numpy(), rpn_deltas=rpn_deltas.numpy(),
                rpn_rois=proposals.bboxes.numpy(), rpn_scores=proposals.scores.numpy(),
                cls_prob=head['cls_score'].softmax(-1).numpy(),
                bbox_deltas=head['bbox_pred'].numpy(),
                detections=np.hstack([detections.bboxes.numpy(),
                                      detections.scores.numpy()[:, None],
                                      detections.labels.numpy()[:, None]]))


def matched_detections(reference, ours, margin=1e-5):
    """The largest difference between each detection (row ``x1 y1 x2 y2 score label``) of
    ``reference`` and its nearest of ``ours`` with the same label, over the detections that
    score above both lists' lowest score plus ``margin`` (below it, the top-100 cut may keep one
    or the other of two near-equal scores); both must have as many of those."""
    cut = min(reference[:, 4].min(), ours[:, 4].min()) + margin
    reference, ours = reference[reference[:, 4] > cut], ours[ours[:, 4] > cut]
    assert len(reference) == len(ours), f'{len(reference)} MXNet, {len(ours)} mmdet detections'
    worst = 0.0
    for row in reference:
        same_label = ours[ours[:, 5] == row[5]]
        assert len(same_label), f'no mmdet detection of label {row[5]:.0f}'
        worst = max(worst, float(np.abs(same_label - row).max(axis=1).min()))
    print(f'detections: {len(reference)} rows, max abs diff {worst:.2e}')
    return worst


@pytest.fixture(scope='module', params=sorted(CONFIGS), ids=lambda p: '-'.join(p))
def compared(request, tmp_path_factory):
    """(MXNet's outputs in mmdet's class order, mmdet's outputs) for one model."""
    model_name, dataset = request.param
    out_dir = tmp_path_factory.mktemp(f'{model_name}_{dataset}')
    reference = mxnet_reference(model_name, dataset, out_dir)
    checkpoint = str(out_dir / 'converted.pth')
    converter.main([str(out_dir / 'model-0000.params'), checkpoint])
    model = converted_model(CONFIGS[request.param], checkpoint)
    ours = mmdet_outputs(model, reference['image_bgr'], reference['rois'],
                         reference['detection_rois'])
    # MXNet: background first, two box classes (background, object)
    reference['cls_prob'] = np.roll(reference['cls_prob'], -1, axis=1)
    reference['bbox_deltas'] = reference['bbox_deltas'][:, 4:]
    reference['rpn_rois'] = reference['rpn_rois'][:, 1:]
    return reference, ours


def max_abs_diff(name, reference, ours):
    assert reference.shape == ours.shape, f'{name}: MXNet {reference.shape}, mmdet {ours.shape}'
    diff = float(np.abs(reference - ours).max()) if reference.size else 0.0
    print(f'{name}: shape {reference.shape}, max abs diff {diff:.2e}')
    return diff


def assert_agree(reference, ours, quantities):
    """Each ``(name, key, tolerance)``: MXNet's and mmdet's arrays under ``key`` agree."""
    for name, key, tolerance in quantities:
        assert max_abs_diff(name, reference[key], ours[key]) < tolerance, name


@pytest.mark.slow
def test_rpn_outputs_proposals_and_scores_match_mxnet(compared):
    reference, ours = compared
    assert len(reference['rpn_rois']) > 50  # enough proposals to exercise NMS and ranking
    assert_agree(reference, ours, [('RPN object probabilities', 'rpn_object_prob', TOLERANCE),
                                   ('RPN deltas', 'rpn_deltas', TOLERANCE),
                                   ('RPN proposals', 'rpn_rois', BOX_TOLERANCE),
                                   ('RPN scores', 'rpn_scores', TOLERANCE)])


@pytest.mark.slow
def test_head_probabilities_and_deltas_of_given_rois_match_mxnet(compared):
    reference, ours = compared
    assert reference['cls_prob'].max() > 2.0 / reference['cls_prob'].shape[1]  # not uniform
    assert_agree(reference, ours, [('class probabilities', 'cls_prob', TOLERANCE),
                                   ('box deltas', 'bbox_deltas', TOLERANCE)])


@pytest.mark.slow
def test_detections_of_given_rois_match_mxnet(compared):
    reference, ours = compared
    assert len(reference['detections']) > 10
    assert matched_detections(reference['detections'], ours['detections']) < BOX_TOLERANCE


# --- refusals (no MXNet needed: .params files written by the format's rules) -------------

def write_params(path, arrays):
    """An MXNet .params file (V2 array records) of ``arrays`` (name -> float32 array)."""
    with open(path, 'wb') as f:
        f.write(struct.pack('<QQQ', 0x112, 0, len(arrays)))
        for array in arrays.values():
            f.write(struct.pack('<Iii', 0xF993FAC9, 0, array.ndim))
            f.write(struct.pack(f'<{array.ndim}q', *array.shape))
            f.write(struct.pack('<iii', 1, 0, 0))
            f.write(np.ascontiguousarray(array, '<f4').tobytes())
        f.write(struct.pack('<Q', len(arrays)))
        for name in arrays:
            f.write(struct.pack('<Q', len(name)) + name.encode())


@pytest.fixture(scope='module')
def small_rfcn_voc(tmp_path_factory):
    """A complete R-FCN VOC file: every array of the model, constant."""
    arrays = {f'{entry.kind}:{entry.name}': np.full(entry.shape, 0.5, np.float32)
              for entry in converter.model_entries('rfcn', 'voc')}
    path = tmp_path_factory.mktemp('params') / 'rfcn_voc-0000.params'
    write_params(path, arrays)
    return path, arrays


def convert_fails(tmp_path, src, *options):
    dst = tmp_path / 'out' / 'converted.pth'
    with pytest.raises(SystemExit) as error:
        converter.main([str(src), str(dst), *options])
    assert not dst.parent.exists() or os.listdir(dst.parent) == []  # nothing left behind
    return str(error.value)


def test_complete_file_converts_and_infers_model_and_dataset(small_rfcn_voc, tmp_path):
    src, arrays = small_rfcn_voc
    dst = tmp_path / 'converted.pth'
    converter.main([str(src), str(dst)])
    checkpoint = torch.load(dst, map_location='cpu', weights_only=False)
    assert (checkpoint['meta']['model'], checkpoint['meta']['dataset']) == ('rfcn', 'voc')
    assert len(checkpoint['meta']['dataset_meta']['classes']) == 20
    state = checkpoint['state_dict']
    assert state['roi_head.bbox_head.conv_cls.weight'].shape[0] == 7 * 7 * 21
    assert state['roi_head.bbox_head.conv_reg.weight'].shape[0] == 7 * 7 * 4
    assert state['rpn_head.rpn_cls.weight'].shape[0] == 12
    assert os.listdir(tmp_path) == ['converted.pth']


def test_class_groups_move_background_last_and_box_stds_come_from_the_test_arrays():
    weight = np.arange(3 * 2, dtype=np.float32).reshape(6, 1, 1, 1)  # 3 classes, 2 channels
    moved = converter.background_last(2)(weight).ravel().tolist()
    assert moved == [2, 3, 4, 5, 0, 1]
    assert converter.object_boxes(np.arange(8)).tolist() == [4, 5, 6, 7]
    scores = np.array([1.0, -2.0, 3.0, 0.5])  # bg a0, bg a1, fg a0, fg a1
    assert converter.object_minus_background(scores).tolist() == [2.0, 2.5]


def test_truncated_file_is_refused_naming_the_file(small_rfcn_voc, tmp_path):
    src, _ = small_rfcn_voc
    truncated = tmp_path / 'truncated.params'
    with open(src, 'rb') as f:
        truncated.write_bytes(f.read()[:1_000_000])
    message = convert_fails(tmp_path, truncated)
    assert str(truncated) in message and 'truncated' in message and 'array' in message


def test_not_a_params_file_is_refused(tmp_path):
    src = tmp_path / 'model.pth'
    torch.save({'state_dict': {}}, src)
    message = convert_fails(tmp_path, src)
    assert str(src) in message and 'not an MXNet .params file' in message


def test_other_architecture_is_refused_naming_the_first_array_that_does_not_fit(
        small_rfcn_voc, tmp_path):
    _, arrays = small_rfcn_voc
    other = dict(arrays)
    other['arg:res4b22_branch2b_weight'] = np.zeros((256, 256, 1, 1), np.float32)
    src = tmp_path / 'other.params'
    write_params(src, other)
    message = convert_fails(tmp_path, src)
    assert 'arg:res4b22_branch2b_weight (256, 256, 1, 1) does not fit' in message
    # a ResNet-50 R-FCN (no res4b6..res4b22) and an extra array
    resnet50 = {name: value for name, value in arrays.items()
                if not any(f'4b{i}_' in name for i in range(6, 23))}
    write_params(src, resnet50)
    assert 'res4b6_branch2a_weight' in convert_fails(tmp_path, src)
    write_params(src, dict(arrays, **{'arg:fc1000_weight': np.zeros((1000, 2048), np.float32)}))
    assert 'arg:fc1000_weight (1000, 2048) is not part of' in convert_fails(tmp_path, src)


def test_model_or_dataset_mismatch_is_refused(small_rfcn_voc, tmp_path):
    src, _ = small_rfcn_voc
    message = convert_fails(tmp_path, src, '--dataset', 'coco')
    assert str(src) in message and 'arg:rfcn_cls_weight (1029, 1024, 1, 1)' in message
    message = convert_fails(tmp_path, src, '--model', 'rfcn_dcn')
    assert 'res5a_branch2b_offset_weight' in message and 'missing' in message


def test_failed_save_leaves_no_partial_checkpoint(small_rfcn_voc, tmp_path, monkeypatch):
    src, _ = small_rfcn_voc
    dst = tmp_path / 'converted.pth'
    dst.write_bytes(b'previous')

    def failing_save(obj, f):
        f.write(b'partial')
        raise OSError('disk full')

    monkeypatch.setattr(converter.torch, 'save', failing_save)
    with pytest.raises(OSError, match='disk full'):
        converter.main([str(src), str(dst)])
    assert os.listdir(tmp_path) == ['converted.pth'] and dst.read_bytes() == b'previous'

