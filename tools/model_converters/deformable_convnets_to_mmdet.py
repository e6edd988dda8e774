"""Convert the R-FCN / Deformable R-FCN models of Deformable-ConvNets (MXNet) to mmdet checkpoints.

Usage:
    python tools/model_converters/deformable_convnets_to_mmdet.py IN.params OUT.pth \\
        [--model rfcn|rfcn_dcn] [--dataset coco|voc]

``IN.params``: a checkpoint of msracver/Deformable-ConvNets' ``resnet_v1_101_rfcn`` (R-FCN) or
``resnet_v1_101_rfcn_dcn`` (Deformable R-FCN) symbols, e.g. the released ``rfcn_coco-0000.params``
and ``rfcn_dcn_coco-0000.params``; read with numpy (``mmdet_psroi_tools.mxnet_params``), MXNet
is not needed. ``--model`` and ``--dataset`` default to what the file holds (offset arrays:
``rfcn_dcn``; 81 or 21 classes in ``rfcn_cls``: ``coco`` or ``voc``); given, they must fit it.
The output runs with ``configs/rfcn/converted/rfcn_r101-c4_deformable-convnets_*.py`` and
``projects/DeformableRFCN/configs/converted/*_deformable-convnets_*.py`` (see
docs/pretrained_models.md).

What changes on the way (every array of the file is used, every weight of the model is set):

- ResNet-v1-101 (``conv1``, ``res2a``..``res5c``, Caffe's block names ``res4b1``..``res4b22``)
  -> mmdet's caffe-style ResNet (``layer1.0``..``layer4.2``); each ``bn*`` (``gamma``, ``beta``,
  ``moving_mean``, ``moving_var``) -> the frozen BN that follows the conv; Deformable R-FCN's
  ``res5*_branch2b_offset`` -> the ``conv_offset`` of the deformable conv (mmcv's offset layout,
  the configs' ``OriginalDCN``).
- RPN: ``rpn_cls_score`` scores background and object of each anchor (channels ``a`` and
  ``A + a``) through a softmax; mmdet's RPN takes one sigmoid logit per anchor, and
  ``softmax(bg, fg)[fg] = sigmoid(fg - bg)``: its weights are the differences.
- Head: ``conv_new_1``, ``rfcn_cls``, ``rfcn_bbox`` (and ``rfcn_cls_offset_t``,
  ``rfcn_bbox_offset_t``) -> the ``conv_hidden``, ``conv_cls``, ``conv_reg`` (``conv_cls_offset``,
  ``conv_reg_offset``) of the box head. The class maps come in groups of ``k*k`` channels per
  class (``2*k*k`` for the offsets), background first; mmdet puts background last, so the first
  group moves to the end. ``rfcn_bbox`` has two box "classes" (background, object) of which only
  the object's are used at test time: its second half is kept. Where the file has
  ``rfcn_bbox_weight_test``/``rfcn_bbox_bias_test`` (what the authors' training saves: the box
  weights times the regression stds, plus the means), those are used, as the authors' tester
  does; the configs decode the deltas with stds 1.
- The input: the authors' network reads RGB (``lib/utils/image.py`` ``transform`` flips the
  BGR image) less ``PIXEL_MEANS`` (B, G, R = 103.06, 115.90, 123.15): the configs' data
  preprocessor does the same (``bgr_to_rgb=True``, RGB means); no weight changes.

A file with an array the model does not have, without one it needs, with a shape that does not
fit, or not an MXNet ``.params`` file at all gets one error naming the file and the first array
that does not fit; the checkpoint is written to a temporary file that replaces ``OUT.pth`` only
when complete.
"""
import argparse
import os
import sys
import tempfile
from collections import OrderedDict, namedtuple

import numpy as np
import torch

from mmdet_psroi_tools.mxnet_params import MXNetParamsError, load_params

MODELS = ('rfcn', 'rfcn_dcn')
NUM_CLASSES = {'coco': 81, 'voc': 21}  # the authors' class counts: background included, first
K = 7  # the PS grid of the authors' heads
NUM_ANCHORS = 12
# ResNet-v1-101: (stage, blocks, bottleneck width)
STAGES = ((2, 3, 64), (3, 4, 128), (4, 23, 256), (5, 3, 512))

# One array of the file: its name (without arg:/aux:), kind, expected shape, the mmdet key it
# goes to and the function that makes the mmdet tensor.
Entry = namedtuple('Entry', 'name kind shape key convert')


class ConversionError(ValueError):
    """A file that does not fit the requested (or inferred) model."""


def same(array):
    return array


def block_names(stage, blocks):
    """Caffe ResNet-101's block names: ``a, b, c`` or ``a, b1, b2, ...``."""
    if blocks == 3:
        return ['a', 'b', 'c']
    return ['a'] + [f'b{i}' for i in range(1, blocks)]


def conv_entries(name, shape, key, bias=False, convert=same):
    yield Entry(name + '_weight', 'arg', shape, key + '.weight', convert)
    if bias:
        yield Entry(name + '_bias', 'arg', shape[:1], key + '.bias', convert)


def bn_entries(name, channels, key):
    for suffix, kind, attribute in (('gamma', 'arg', 'weight'), ('beta', 'arg', 'bias'),
                                    ('moving_mean', 'aux', 'running_mean'),
                                    ('moving_var', 'aux', 'running_var')):
        yield Entry(f'{name}_{suffix}', kind, (channels, ), f'{key}.{attribute}', same)


def backbone_entries(deformable):
    yield from conv_entries('conv1', (64, 3, 7, 7), 'backbone.conv1')
    yield from bn_entries('bn_conv1', 64, 'backbone.bn1')
    in_channels = 64
    for layer, (stage, blocks, width) in enumerate(STAGES, start=1):
        for index, block in enumerate(block_names(stage, blocks)):
            res, bn = f'res{stage}{block}', f'bn{stage}{block}'
            key = f'backbone.layer{layer}.{index}'
            if index == 0:
                yield from conv_entries(res + '_branch1', (4 * width, in_channels, 1, 1),
                                        key + '.downsample.0')
                yield from bn_entries(bn + '_branch1', 4 * width, key + '.downsample.1')
            yield from conv_entries(res + '_branch2a', (width, in_channels, 1, 1), key + '.conv1')
            yield from bn_entries(bn + '_branch2a', width, key + '.bn1')
            if deformable and stage == 5:
                yield from conv_entries(res + '_branch2b_offset', (72, width, 3, 3),
                                        key + '.conv2.conv_offset', bias=True)
            yield from conv_entries(res + '_branch2b', (width, width, 3, 3), key + '.conv2')
            yield from bn_entries(bn + '_branch2b', width, key + '.bn2')
            yield from conv_entries(res + '_branch2c', (4 * width, width, 1, 1), key + '.conv3')
            yield from bn_entries(bn + '_branch2c', 4 * width, key + '.bn3')
            in_channels = 4 * width


def object_minus_background(array):
    """``rpn_cls_score``'s ``2A`` channels (background ``a``, object ``A + a``) -> ``A`` logits
    whose sigmoid is the softmax's object probability."""
    half = array.shape[0] // 2
    return array[half:] - array[:half]


def background_last(group_size):
    """Moves the first class group (``group_size`` channels: background) of a class map to
    the end."""
    def convert(array):
        return np.concatenate([array[group_size:], array[:group_size]])
    return convert


def object_boxes(array):
    """``rfcn_bbox``'s two box classes (background, object) -> the object's."""
    return array[array.shape[0] // 2:]


def head_entries(num_classes, deformable):
    yield from conv_entries('rpn_conv_3x3', (512, 1024, 3, 3), 'rpn_head.rpn_conv', bias=True)
    yield from conv_entries('rpn_cls_score', (2 * NUM_ANCHORS, 512, 1, 1), 'rpn_head.rpn_cls',
                            bias=True, convert=object_minus_background)
    yield from conv_entries('rpn_bbox_pred', (4 * NUM_ANCHORS, 512, 1, 1), 'rpn_head.rpn_reg',
                            bias=True)
    head = 'roi_head.bbox_head'
    yield from conv_entries('conv_new_1', (1024, 2048, 1, 1), head + '.conv_hidden', bias=True)
    yield from conv_entries('rfcn_cls', (K * K * num_classes, 1024, 1, 1), head + '.conv_cls',
                            bias=True, convert=background_last(K * K))
    yield from conv_entries('rfcn_bbox', (K * K * 4 * 2, 1024, 1, 1), head + '.conv_reg',
                            bias=True, convert=object_boxes)
    if deformable:
        yield from conv_entries('rfcn_cls_offset_t', (2 * K * K * num_classes, 1024, 1, 1),
                                head + '.conv_cls_offset', bias=True,
                                convert=background_last(2 * K * K))
        yield from conv_entries('rfcn_bbox_offset_t', (2 * K * K, 1024, 1, 1),
                                head + '.conv_reg_offset', bias=True)


def model_entries(model, dataset):
    """Every array of the authors' ``model`` trained on ``dataset``, in network order."""
    deformable = model == 'rfcn_dcn'
    return (list(backbone_entries(deformable))
            + list(head_entries(NUM_CLASSES[dataset], deformable)))


# The box weights the authors' training saves with the regression stds folded in, and their
# tester loads in place of rfcn_bbox_weight/bias (lib/utils/load_model.py, process=True).
TEST_ARRAYS = {'rfcn_bbox_weight_test': 'rfcn_bbox_weight', 'rfcn_bbox_bias_test': 'rfcn_bbox_bias'}


def split_kind(path, params):
    """``{'arg:x': a, 'aux:y': b}`` -> ``{'x': ('arg', a), 'y': ('aux', b)}``."""
    arrays = OrderedDict()
    for full_name, array in params.items():
        kind, _, name = full_name.partition(':')
        if kind not in ('arg', 'aux') or not name:
            raise ConversionError(f'{path}: array {full_name!r} is not named arg:<name> or '
                                  'aux:<name> as in an MXNet checkpoint')
        arrays[name] = (kind, array)
    return arrays


def infer_model(arrays):
    offsets = ('res5a_branch2b_offset_weight', 'rfcn_cls_offset_t_weight')
    return 'rfcn_dcn' if any(name in arrays for name in offsets) else 'rfcn'


def infer_dataset(path, arrays):
    if 'rfcn_cls_weight' not in arrays:
        raise ConversionError(f'{path}: no array rfcn_cls_weight: not an R-FCN checkpoint of '
                              'Deformable-ConvNets (resnet_v1_101_rfcn[_dcn])')
    channels = arrays['rfcn_cls_weight'][1].shape[0]
    for dataset, num_classes in NUM_CLASSES.items():
        if channels == K * K * num_classes:
            return dataset
    raise ConversionError(
        f'{path}: rfcn_cls_weight has {channels} output channels; expected '
        + ' or '.join(f'{K * K * n} ({dataset}: {n} classes)' for dataset, n in
                      NUM_CLASSES.items()))


def check_arrays(path, arrays, entries, model, dataset):
    """Every array of the file is in ``entries`` (or is one of ``TEST_ARRAYS``) with its kind
    and shape, and every entry is in the file. Raises ConversionError naming the first array
    (file order; then network order for missing ones) that does not fit."""
    expected = {entry.name: entry for entry in entries}
    for name, (kind, array) in arrays.items():
        entry = expected.get(TEST_ARRAYS.get(name, name))
        if entry is None:
            raise ConversionError(f'{path}: array {kind}:{name} {array.shape} is not part of '
                                  f'--model {model} --dataset {dataset}')
        if kind != entry.kind or tuple(array.shape) != entry.shape:
            raise ConversionError(f'{path}: array {kind}:{name} {tuple(array.shape)} does not '
                                  f'fit --model {model} --dataset {dataset}, which expects '
                                  f'{entry.kind}:{name} {entry.shape}')
        if not np.issubdtype(array.dtype, np.floating):
            raise ConversionError(f'{path}: array {kind}:{name} has dtype {array.dtype}; '
                                  'expected floating point weights')
    for entry in entries:
        if entry.name not in arrays:
            raise ConversionError(f'{path}: array {entry.kind}:{entry.name} {entry.shape} of '
                                  f'--model {model} --dataset {dataset} is missing')
    present = [name for name in TEST_ARRAYS if name in arrays]
    if len(present) == 1:
        missing = next(name for name in TEST_ARRAYS if name not in arrays)
        raise ConversionError(f'{path}: arg:{present[0]} without arg:{missing}')


def convert(path, params, model=None, dataset=None):
    """The arrays of ``path`` (``load_params``' dict) -> (mmdet state dict, model, dataset).

    Raises:
        ConversionError: the file does not fit (the first array that does not is named).
    """
    arrays = split_kind(path, params)
    model = model or infer_model(arrays)
    dataset = dataset or infer_dataset(path, arrays)
    entries = model_entries(model, dataset)
    check_arrays(path, arrays, entries, model, dataset)
    if all(name in arrays for name in TEST_ARRAYS):
        for test_name, name in TEST_ARRAYS.items():
            arrays[name] = arrays[test_name]
    state_dict = OrderedDict()
    for entry in entries:
        array = entry.convert(arrays[entry.name][1].astype(np.float32))
        state_dict[entry.key] = torch.from_numpy(np.ascontiguousarray(array))
        if entry.key.endswith('.running_var'):
            state_dict[entry.key[:-len('running_var')] + 'num_batches_tracked'] = torch.tensor(0)
    return state_dict, model, dataset


def dataset_classes(dataset):
    """mmdet's class names of ``dataset``, in the authors' order less the background (both
    follow COCO's category ids and VOC's alphabetical list)."""
    from mmdet.datasets import CocoDataset, VOCDataset

    return (CocoDataset if dataset == 'coco' else VOCDataset).METAINFO['classes']


def save_atomically(checkpoint, dst):
    """``torch.save`` to a temporary file next to ``dst``, renamed to ``dst`` when complete;
    on any error the temporary file is removed and ``dst`` is untouched."""
    directory = os.path.dirname(os.path.abspath(dst))
    os.makedirs(directory, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f'.{os.path.basename(dst)}.', suffix='.tmp',
                                   dir=directory)
    try:
        with os.fdopen(handle, 'wb') as f:
            torch.save(checkpoint, f)
        os.replace(tmp, dst)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help="the authors' MXNet checkpoint, e.g. rfcn_coco-0000.params")
    parser.add_argument('dst', help='the mmdet checkpoint to write (.pth)')
    parser.add_argument('--model', choices=MODELS,
                        help='rfcn (R-FCN) or rfcn_dcn (Deformable R-FCN); default: inferred')
    parser.add_argument('--dataset', choices=sorted(NUM_CLASSES),
                        help='coco (81 classes) or voc (21); default: inferred')
    args = parser.parse_args(argv)
    if not os.path.isfile(args.src):
        parser.error(f'src: {args.src} is not a file')
    try:
        state_dict, model, dataset = convert(args.src, load_params(args.src), args.model,
                                             args.dataset)
    except (MXNetParamsError, ConversionError) as error:
        sys.exit(f'error: {error}')
    meta = dict(dataset_meta=dict(classes=dataset_classes(dataset)),
                converted_from=os.path.basename(args.src), model=model, dataset=dataset)
    save_atomically(dict(state_dict=state_dict, meta=meta), args.dst)
    print(f'{args.src} ({model}, {dataset}) -> {args.dst}: {len(state_dict)} tensors')


if __name__ == '__main__':
    main()
