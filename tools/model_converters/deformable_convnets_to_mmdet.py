"""Convert the R-FCN / Deformable R-FCN models of Deformable-ConvNets (MXNet) to mmdet checkpoints.

docs/pretrained_models.md: the files, the configs that run the output, what changes on the way."""
import argparse
import os
import sys
from collections import OrderedDict, namedtuple

import numpy as np
import torch

from mmdet_psroi_tools.arguments import existing_file
from mmdet_psroi_tools.mxnet_params import MXNetParamsError, load_params
from mmdet_psroi_tools.outputs import replaced

NUM_CLASSES = {'coco': 81, 'voc': 21}  # the authors' class counts: background included, first
K = 7  # the PS grid of the authors' heads
NUM_ANCHORS = 12
# ResNet-v1-101: (stage, blocks, bottleneck width)
STAGES = ((2, 3, 64), (3, 4, 128), (4, 23, 256), (5, 3, 512))
# The box weights the authors' training saves with the regression stds folded in, and their
# tester loads in place of rfcn_bbox_weight/bias (lib/utils/load_model.py, process=True).
TEST_ARRAYS = {'rfcn_bbox_weight_test': 'rfcn_bbox_weight', 'rfcn_bbox_bias_test': 'rfcn_bbox_bias'}

# One array of the file: its name (without arg:/aux:), kind, expected shape, the mmdet key it
# goes to and the function that makes the mmdet tensor (None: the array as it is).
Entry = namedtuple('Entry', 'name kind shape key convert')


class ConversionError(ValueError):
    """A file that does not fit the requested (or inferred) model."""


def conv_entries(name, shape, key, bias=False, convert=None):
    yield Entry(name + '_weight', 'arg', shape, key + '.weight', convert)
    if bias:
        yield Entry(name + '_bias', 'arg', shape[:1], key + '.bias', convert)


def bn_entries(name, channels, key):
    for suffix, kind, attribute in (('gamma', 'arg', 'weight'), ('beta', 'arg', 'bias'),
                                    ('moving_mean', 'aux', 'running_mean'),
                                    ('moving_var', 'aux', 'running_var')):
        yield Entry(f'{name}_{suffix}', kind, (channels, ), f'{key}.{attribute}', None)


def backbone_entries(deformable):
    """Caffe's ResNet-101 (blocks ``a, b, c`` or ``a, b1, b2, ...``) -> mmdet's ResNet."""
    yield from conv_entries('conv1', (64, 3, 7, 7), 'backbone.conv1')
    yield from bn_entries('bn_conv1', 64, 'backbone.bn1')
    in_channels = 64
    for layer, (stage, blocks, width) in enumerate(STAGES, start=1):
        names = ['a', 'b', 'c'] if blocks == 3 else ['a'] + [f'b{i}' for i in range(1, blocks)]
        for index, block in enumerate(names):
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
    """Moves a class map's first ``group_size`` channels (the background's) to the end."""
    return lambda array: np.concatenate([array[group_size:], array[:group_size]])


def object_boxes(array):
    """``rfcn_bbox``'s two box classes (background, object) -> the object's."""
    return array[array.shape[0] // 2:]


def head_entries(num_classes, deformable):
    """The RPN's and the R-FCN head's convolutions, all with biases."""
    head = 'roi_head.bbox_head.'
    convs = [('rpn_conv_3x3', (512, 1024, 3, 3), 'rpn_head.rpn_conv', None),
             ('rpn_cls_score', (2 * NUM_ANCHORS, 512, 1, 1), 'rpn_head.rpn_cls',
              object_minus_background),
             ('rpn_bbox_pred', (4 * NUM_ANCHORS, 512, 1, 1), 'rpn_head.rpn_reg', None),
             ('conv_new_1', (1024, 2048, 1, 1), head + 'conv_hidden', None),
             ('rfcn_cls', (K * K * num_classes, 1024, 1, 1), head + 'conv_cls',
              background_last(K * K)),
             ('rfcn_bbox', (K * K * 4 * 2, 1024, 1, 1), head + 'conv_reg', object_boxes)]
    if deformable:
        convs += [('rfcn_cls_offset_t', (2 * K * K * num_classes, 1024, 1, 1),
                   head + 'conv_cls_offset', background_last(2 * K * K)),
                  ('rfcn_bbox_offset_t', (2 * K * K, 1024, 1, 1), head + 'conv_reg_offset', None)]
    for name, shape, key, convert in convs:
        yield from conv_entries(name, shape, key, bias=True, convert=convert)


def model_entries(model, dataset):
    """Every array of the authors' ``model`` trained on ``dataset``, in network order."""
    deformable = model == 'rfcn_dcn'
    return [*backbone_entries(deformable), *head_entries(NUM_CLASSES[dataset], deformable)]


def infer_dataset(path, arrays):
    """The dataset whose class count fits ``rfcn_cls``'s channels."""
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
    """Raises ConversionError naming the first array (file order; then network order for the
    missing) that is not in ``entries`` (or ``TEST_ARRAYS``) with that kind and shape."""
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
    Raises ConversionError naming the first array that does not fit."""
    arrays = OrderedDict()  # name: (arg or aux, array)
    for full_name, array in params.items():
        kind, _, name = full_name.partition(':')
        if kind not in ('arg', 'aux') or not name:
            raise ConversionError(f'{path}: array {full_name!r} is not named arg:<name> or '
                                  'aux:<name> as in an MXNet checkpoint')
        arrays[name] = (kind, array)
    offsets = ('res5a_branch2b_offset_weight', 'rfcn_cls_offset_t_weight')
    model = model or ('rfcn_dcn' if any(name in arrays for name in offsets) else 'rfcn')
    dataset = dataset or infer_dataset(path, arrays)
    entries = model_entries(model, dataset)
    check_arrays(path, arrays, entries, model, dataset)
    for test_name, name in TEST_ARRAYS.items():  # both or neither, as checked
        arrays[name] = arrays.get(test_name, arrays[name])
    state_dict = OrderedDict()
    for entry in entries:
        array = arrays[entry.name][1].astype(np.float32)
        array = entry.convert(array) if entry.convert else array
        state_dict[entry.key] = torch.from_numpy(np.ascontiguousarray(array))
        if entry.key.endswith('.running_var'):
            state_dict[entry.key[:-len('running_var')] + 'num_batches_tracked'] = torch.tensor(0)
    return state_dict, model, dataset


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', type=existing_file,
                        help="the authors' MXNet checkpoint, e.g. rfcn_coco-0000.params")
    parser.add_argument('dst', help='the mmdet checkpoint to write (.pth)')
    parser.add_argument('--model', choices=('rfcn', 'rfcn_dcn'),
                        help='rfcn (R-FCN) or rfcn_dcn (Deformable R-FCN); default: inferred')
    parser.add_argument('--dataset', choices=sorted(NUM_CLASSES),
                        help='coco (81 classes) or voc (21); default: inferred')
    args = parser.parse_args(argv)
    try:
        state_dict, model, dataset = convert(args.src, load_params(args.src), args.model,
                                             args.dataset)
    except (MXNetParamsError, ConversionError) as error:
        sys.exit(f'error: {error}')
    from mmdet.datasets import CocoDataset, VOCDataset

    # mmdet's class names follow the authors' order less the background (COCO's category ids,
    # VOC's alphabetical list)
    classes = (CocoDataset if dataset == 'coco' else VOCDataset).METAINFO['classes']
    meta = dict(dataset_meta=dict(classes=classes), converted_from=os.path.basename(args.src),
                model=model, dataset=dataset)
    with replaced(args.dst) as tmp, open(tmp, 'wb') as f:
        torch.save(dict(state_dict=state_dict, meta=meta), f)
    print(f'{args.src} ({model}, {dataset}) -> {args.dst}: {len(state_dict)} tensors')


if __name__ == '__main__':
    main()
