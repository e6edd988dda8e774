"""The authors' R-FCN / Deformable R-FCN test networks in MXNet, with random weights: the
reference that ``test_deformable_convnets_converter.py`` compares the converted mmdet models with.

Runs in an environment with ``mxnet==1.9.1`` (``numpy<1.24``), not in the project's:

    python tests/tools/mxnet_reference.py --model rfcn|rfcn_dcn --dataset coco|voc OUT_DIR

writes ``OUT_DIR/model-0000.params`` (the weights, in the layout of the authors' released
checkpoints, ``rfcn_bbox_weight_test``/``rfcn_bbox_bias_test`` included) and
``OUT_DIR/reference.npz``: the input image (BGR, uint8), the RPN's object probabilities and
deltas per anchor, its proposals and their scores, the
RoIs given to the head, every RoI's class probabilities and box deltas, and the final
detections, post-processed as the authors' tester does.

The network symbols are those of Deformable-ConvNets (``rfcn/symbols/resnet_v1_101_rfcn.py``,
``rfcn/symbols/resnet_v1_101_rfcn_dcn.py``, test mode, settings of
``experiments/rfcn/cfgs/resnet_v1_101_*_rfcn*_end2end_ohem.yaml``), adapted: the ResNet-v1-101
layers that the original lists one by one are generated in a loop (same names, operators and
arguments), and the proposals come from MXNet's C++ ``Proposal`` (the code's
``CXX_PROPOSAL: true`` option) instead of its Python operator, which pads the proposal list with
random repeats. The post-processing follows ``rfcn/core/tester.py`` (``im_detect``,
``pred_eval``) and ``lib/bbox/bbox_transform.py``, ``lib/nms/nms.py``.

Deformable-ConvNets: Copyright (c) 2017 Microsoft, MIT License:

    Permission is hereby granted, free of charge, to any person obtaining a copy of this
    software and associated documentation files (the "Software"), to deal in the Software
    without restriction, including without limitation the rights to use, copy, modify, merge,
    publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
    to whom the Software is furnished to do so, subject to the following conditions:

    The above copyright notice and this permission notice shall be included in all copies or
    substantial portions of the Software.

    THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
    INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
    PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
    FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
    OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
    DEALINGS IN THE SOFTWARE.
"""
import argparse
import os

import mxnet as mx
import numpy as np

NUM_CLASSES = {'coco': 81, 'voc': 21}  # background included, first
# experiments/rfcn/cfgs/*.yaml (network, TEST)
PIXEL_MEANS = (103.06, 115.90, 123.15)  # B, G, R
FEAT_STRIDE = 16
ANCHOR_SCALES = (4, 8, 16, 32)
ANCHOR_RATIOS = (0.5, 1, 2)
NUM_ANCHORS = 12
RPN_PRE_NMS_TOP_N = 6000
RPN_POST_NMS_TOP_N = 300
RPN_NMS_THRESH = 0.7
RPN_MIN_SIZE = 0
TEST_NMS = 0.3
MAX_PER_IMAGE = 100
SCORE_THRESH = 1e-3  # rfcn/core/tester.py pred_eval
BBOX_STDS = (0.1, 0.1, 0.2, 0.2)  # TRAIN.BBOX_STDS, folded into rfcn_bbox_*_test
EPS = 1e-5
# ResNet-v1-101: (stage, blocks, bottleneck width); the block names of the Caffe model.
STAGES = ((2, 3, 64), (3, 4, 128), (4, 23, 256), (5, 3, 512))


def block_names(stage, blocks):
    if blocks == 3:
        return ['a', 'b', 'c']
    return ['a'] + [f'b{i}' for i in range(1, blocks)]


def conv_bn(data, name, bn_name, num_filter, kernel, stride=1, pad=0, dilate=1, relu=True,
            offset=None):
    """Convolution (deformable where ``offset`` is given) + BatchNorm (global stats) [+ ReLU],
    as each of the authors' ``resN*_branch*`` / ``bnN*_branch*`` pairs."""
    args = dict(name=name, data=data, num_filter=num_filter, kernel=(kernel, kernel),
                stride=(stride, stride), pad=(pad, pad), dilate=(dilate, dilate), no_bias=True)
    if offset is None:
        conv = mx.symbol.Convolution(**args)
    else:
        conv = mx.contrib.symbol.DeformableConvolution(offset=offset, num_deformable_group=4,
                                                       **args)
    out = mx.symbol.BatchNorm(name=bn_name, data=conv, use_global_stats=True, fix_gamma=False,
                              eps=EPS)
    return mx.symbol.Activation(name=name + '_relu', data=out, act_type='relu') if relu else out


def bottleneck(data, stage, block, width, first, deformable):
    """``res{stage}{block}``: caffe style (stride on the 1x1), res5 dilated by 2."""
    name, bn = f'res{stage}{block}', f'bn{stage}{block}'
    stride = 2 if first and stage in (3, 4) else 1
    dilate = 2 if stage == 5 else 1
    branch = conv_bn(data, name + '_branch2a', bn + '_branch2a', width, 1, stride)
    offset = None
    if deformable and stage == 5:
        offset = mx.symbol.Convolution(name=name + '_branch2b_offset', data=branch, num_filter=72,
                                       pad=(2, 2), kernel=(3, 3), stride=(1, 1), dilate=(2, 2))
    branch = conv_bn(branch, name + '_branch2b', bn + '_branch2b', width, 3, 1, dilate, dilate,
                     offset=offset)
    branch = conv_bn(branch, name + '_branch2c', bn + '_branch2c', 4 * width, 1, relu=False)
    shortcut = (conv_bn(data, name + '_branch1', bn + '_branch1', 4 * width, 1, stride,
                        relu=False) if first else data)
    out = mx.symbol.broadcast_add(shortcut, branch, name=name)
    return mx.symbol.Activation(name=name + '_relu', data=out, act_type='relu')


def resnet_v1_101(data, deformable):
    """(conv4 feature, conv5 feature) of the authors' ``get_resnet_v1_conv4/5``."""
    x = conv_bn(data, 'conv1', 'bn_conv1', 64, 7, 2, 3)
    x = mx.symbol.Pooling(name='pool1', data=x, pooling_convention='full', pad=(0, 0),
                          kernel=(3, 3), stride=(2, 2), pool_type='max')
    conv4 = None
    for stage, blocks, width in STAGES:
        for index, block in enumerate(block_names(stage, blocks)):
            x = bottleneck(x, stage, block, width, index == 0, deformable)
        if stage == 4:
            conv4 = x
    return conv4, x


def rpn(conv4, im_info, output_score=True):
    rpn_conv = mx.sym.Convolution(data=conv4, kernel=(3, 3), pad=(1, 1), num_filter=512,
                                  name='rpn_conv_3x3')
    rpn_relu = mx.sym.Activation(data=rpn_conv, act_type='relu', name='rpn_relu')
    rpn_cls_score = mx.sym.Convolution(data=rpn_relu, kernel=(1, 1), pad=(0, 0),
                                       num_filter=2 * NUM_ANCHORS, name='rpn_cls_score')
    rpn_bbox_pred = mx.sym.Convolution(data=rpn_relu, kernel=(1, 1), pad=(0, 0),
                                       num_filter=4 * NUM_ANCHORS, name='rpn_bbox_pred')
    rpn_cls_score_reshape = mx.sym.Reshape(data=rpn_cls_score, shape=(0, 2, -1, 0),
                                           name='rpn_cls_score_reshape')
    rpn_cls_prob = mx.sym.SoftmaxActivation(data=rpn_cls_score_reshape, mode='channel',
                                            name='rpn_cls_prob')
    rpn_cls_prob_reshape = mx.sym.Reshape(data=rpn_cls_prob, shape=(0, 2 * NUM_ANCHORS, -1, 0),
                                          name='rpn_cls_prob_reshape')
    return mx.contrib.sym.Proposal(
        cls_prob=rpn_cls_prob_reshape, bbox_pred=rpn_bbox_pred, im_info=im_info, name='rois',
        output_score=output_score, feature_stride=FEAT_STRIDE, scales=ANCHOR_SCALES,
        ratios=ANCHOR_RATIOS, rpn_pre_nms_top_n=RPN_PRE_NMS_TOP_N,
        rpn_post_nms_top_n=RPN_POST_NMS_TOP_N, threshold=RPN_NMS_THRESH,
        rpn_min_size=RPN_MIN_SIZE)


def rfcn_head(conv5, rois, num_classes, deformable):
    """``conv_new_1`` .. ``cls_prob``/``bbox_pred`` of the authors' test symbols."""
    num_reg_classes = 2  # CLASS_AGNOSTIC: true
    conv_new_1 = mx.sym.Convolution(data=conv5, kernel=(1, 1), num_filter=1024, name='conv_new_1')
    relu_new_1 = mx.sym.Activation(data=conv_new_1, act_type='relu', name='relu1')
    rfcn_cls = mx.sym.Convolution(data=relu_new_1, kernel=(1, 1), num_filter=7 * 7 * num_classes,
                                  name='rfcn_cls')
    rfcn_bbox = mx.sym.Convolution(data=relu_new_1, kernel=(1, 1),
                                   num_filter=7 * 7 * 4 * num_reg_classes, name='rfcn_bbox')
    if deformable:
        rfcn_cls_offset_t = mx.sym.Convolution(data=relu_new_1, kernel=(1, 1),
                                               num_filter=2 * 7 * 7 * num_classes,
                                               name='rfcn_cls_offset_t')
        rfcn_bbox_offset_t = mx.sym.Convolution(data=relu_new_1, kernel=(1, 1),
                                                num_filter=7 * 7 * 2, name='rfcn_bbox_offset_t')
        common = dict(rois=rois, group_size=7, pooled_size=7, sample_per_part=4, part_size=7,
                      spatial_scale=0.0625)
        rfcn_cls_offset = mx.contrib.sym.DeformablePSROIPooling(
            name='rfcn_cls_offset', data=rfcn_cls_offset_t, no_trans=True,
            output_dim=2 * num_classes, **common)
        rfcn_bbox_offset = mx.contrib.sym.DeformablePSROIPooling(
            name='rfcn_bbox_offset', data=rfcn_bbox_offset_t, no_trans=True, output_dim=2,
            **common)
        psroipooled_cls_rois = mx.contrib.sym.DeformablePSROIPooling(
            name='psroipooled_cls_rois', data=rfcn_cls, trans=rfcn_cls_offset, no_trans=False,
            trans_std=0.1, output_dim=num_classes, **common)
        psroipooled_loc_rois = mx.contrib.sym.DeformablePSROIPooling(
            name='psroipooled_loc_rois', data=rfcn_bbox, trans=rfcn_bbox_offset,
            no_trans=False, trans_std=0.1, output_dim=8, **common)
    else:
        psroipooled_cls_rois = mx.contrib.sym.PSROIPooling(
            name='psroipooled_cls_rois', data=rfcn_cls, rois=rois, group_size=7, pooled_size=7,
            output_dim=num_classes, spatial_scale=0.0625)
        psroipooled_loc_rois = mx.contrib.sym.PSROIPooling(
            name='psroipooled_loc_rois', data=rfcn_bbox, rois=rois, group_size=7, pooled_size=7,
            output_dim=8, spatial_scale=0.0625)
    cls_score = mx.sym.Pooling(name='ave_cls_scors_rois', data=psroipooled_cls_rois,
                               pool_type='avg', global_pool=True, kernel=(7, 7))
    bbox_pred = mx.sym.Pooling(name='ave_bbox_pred_rois', data=psroipooled_loc_rois,
                               pool_type='avg', global_pool=True, kernel=(7, 7))
    cls_score = mx.sym.Reshape(name='cls_score_reshape', data=cls_score, shape=(-1, num_classes))
    bbox_pred = mx.sym.Reshape(name='bbox_pred_reshape', data=bbox_pred,
                               shape=(-1, 4 * num_reg_classes))
    cls_prob = mx.sym.SoftmaxActivation(name='cls_prob', data=cls_score)
    cls_prob = mx.sym.Reshape(data=cls_prob, shape=(1, -1, num_classes), name='cls_prob_reshape')
    bbox_pred = mx.sym.Reshape(data=bbox_pred, shape=(1, -1, 4 * num_reg_classes),
                               name='bbox_pred_reshape')
    return cls_prob, bbox_pred


def symbols(num_classes, deformable):
    """The authors' test symbols ``get_symbol_rpn`` (image -> proposals and their scores) and
    ``get_symbol_rfcn`` (image and given rois -> cls_prob, bbox_pred); ``get_symbol`` is the
    two in one."""
    data, im_info = mx.sym.Variable(name='data'), mx.sym.Variable(name='im_info')
    conv4, conv5 = resnet_v1_101(data, deformable)
    rpn_rois, rpn_scores = rpn(conv4, im_info, output_score=True)
    given = mx.sym.Reshape(data=mx.sym.Variable(name='rois'), shape=(-1, 5), name='rois_reshape')
    return (mx.sym.Group([rpn_rois, rpn_scores]),
            mx.sym.Group(list(rfcn_head(conv5, given, num_classes, deformable))))


# Weight scales (times He's) that keep every quantity of the networks of order 1 on an image
# of pixels less their means: conv1 reads values of order 100, the residual sums of 33 blocks
# grow, the RPN's and the head's logits and deltas stay in the range trained models give.
WEIGHT_SCALES = (('conv1_', 0.015), ('_branch2b_offset', 0.1), ('rpn_conv', 0.3),
                 ('rpn_cls', 0.5), ('rpn_bbox', 0.05), ('conv_new_1', 0.3),
                 ('rfcn_cls_offset', 0.1), ('rfcn_bbox_offset', 0.1), ('rfcn_cls', 1.0),
                 ('rfcn_bbox', 0.3))


def weight_scale(name):
    return next((scale for prefix, scale in WEIGHT_SCALES if prefix in name), 1.0)


def random_params(symbol, shapes, rng):
    """Random weights of every argument that is not an input: convolutions near He's scale,
    BN statistics and affines that keep the activations of 101 layers of order 1, RPN and
    offset layers that spread the scores and move the samples by a few pixels."""
    arg_shapes, _, aux_shapes = symbol.infer_shape(**shapes)
    arg, aux = {}, {}
    for name, shape in zip(symbol.list_arguments(), arg_shapes):
        if name in shapes:
            continue
        if name.endswith('_gamma'):
            scale = (0.2, 0.4) if '_branch2c' in name else (0.6, 1.2)
            value = rng.uniform(*scale, size=shape)
        elif name.endswith('_beta') or name.endswith('_bias'):
            value = rng.uniform(-0.1, 0.1, size=shape)
        else:
            fan_in = int(np.prod(shape[1:]))
            value = rng.normal(0, np.sqrt(2.0 / fan_in) * weight_scale(name), size=shape)
        arg[name] = value
    for name, shape in zip(symbol.list_auxiliary_states(), aux_shapes):
        low_high = (-0.2, 0.2) if name.endswith('moving_mean') else (0.5, 1.5)
        aux[name] = rng.uniform(*low_high, size=shape)
    return ({k: mx.nd.array(v, dtype='float32') for k, v in arg.items()},
            {k: mx.nd.array(v, dtype='float32') for k, v in aux.items()})


def fold_bbox_stds(arg):
    """The ``rfcn_bbox_*_test`` arrays the authors' training writes into each checkpoint
    (``rfcn/core/callback.py`` ``do_checkpoint``) and their tester loads in place of
    ``rfcn_bbox_*`` (``load_param(process=True)``)."""
    weight, bias = arg['rfcn_bbox_weight'], arg['rfcn_bbox_bias']
    means = np.zeros(4)
    repeat = bias.shape[0] // 4
    stds = mx.nd.repeat(mx.nd.array(BBOX_STDS), repeats=repeat)
    arg['rfcn_bbox_weight_test'] = weight * stds.reshape((bias.shape[0], 1, 1, 1))
    arg['rfcn_bbox_bias_test'] = bias * stds + mx.nd.repeat(mx.nd.array(means), repeats=repeat)


def run(symbol, arg, aux, inputs):
    params = {name: value for name, value in arg.items() if name in symbol.list_arguments()}
    params.update({name: mx.nd.array(value) for name, value in inputs.items()})
    executor = symbol.bind(mx.cpu(), params, aux_states=aux, grad_req='null')
    return [out.asnumpy() for out in executor.forward(is_train=False)]


def transform(image_bgr):
    """``lib/utils/image.py`` ``transform``: BGR image -> RGB tensor less the means."""
    tensor = np.zeros((1, 3) + image_bgr.shape[:2])
    for i in range(3):
        tensor[0, i] = image_bgr[:, :, 2 - i] - PIXEL_MEANS[2 - i]
    return tensor


def bbox_pred(boxes, deltas):
    """``lib/bbox/bbox_transform.py`` ``bbox_pred`` (py-faster-rcnn's +1 convention)."""
    widths = boxes[:, 2] - boxes[:, 0] + 1.0
    heights = boxes[:, 3] - boxes[:, 1] + 1.0
    ctr_x = boxes[:, 0] + 0.5 * (widths - 1.0)
    ctr_y = boxes[:, 1] + 0.5 * (heights - 1.0)
    dx, dy, dw, dh = (deltas[:, i::4] for i in range(4))
    pred_ctr_x = dx * widths[:, None] + ctr_x[:, None]
    pred_ctr_y = dy * heights[:, None] + ctr_y[:, None]
    pred_w = np.exp(dw) * widths[:, None]
    pred_h = np.exp(dh) * heights[:, None]
    pred = np.zeros(deltas.shape)
    pred[:, 0::4] = pred_ctr_x - 0.5 * (pred_w - 1.0)
    pred[:, 1::4] = pred_ctr_y - 0.5 * (pred_h - 1.0)
    pred[:, 2::4] = pred_ctr_x + 0.5 * (pred_w - 1.0)
    pred[:, 3::4] = pred_ctr_y + 0.5 * (pred_h - 1.0)
    return pred


def clip_boxes(boxes, im_shape):
    boxes[:, 0::4] = np.maximum(np.minimum(boxes[:, 0::4], im_shape[1] - 1), 0)
    boxes[:, 1::4] = np.maximum(np.minimum(boxes[:, 1::4], im_shape[0] - 1), 0)
    boxes[:, 2::4] = np.maximum(np.minimum(boxes[:, 2::4], im_shape[1] - 1), 0)
    boxes[:, 3::4] = np.maximum(np.minimum(boxes[:, 3::4], im_shape[0] - 1), 0)
    return boxes


def nms(dets, thresh):
    """``lib/nms/nms.py`` ``nms``: greedy, areas with +1; equal scores are visited in row order
    (there, in the arbitrary order of numpy's quicksort: PS RoI pooling's rounding gives RoIs
    that pool the same bins exactly equal scores)."""
    x1, y1, x2, y2, scores = dets.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores, kind='stable')
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        xx1 = np.maximum(x1[i], x1[order[1:]])
        yy1 = np.maximum(y1[i], y1[order[1:]])
        xx2 = np.minimum(x2[i], x2[order[1:]])
        yy2 = np.minimum(y2[i], y2[order[1:]])
        inter = np.maximum(0.0, xx2 - xx1 + 1) * np.maximum(0.0, yy2 - yy1 + 1)
        ovr = inter / (areas[i] + areas[order[1:]] - inter)
        order = order[np.where(ovr <= thresh)[0] + 1]
    return keep


def detections(rois, cls_prob, deltas, im_shape, scale=1.0):
    """``im_detect`` + ``pred_eval`` for one image: ``(D, 6)`` rows ``x1 y1 x2 y2 score
    label`` (label: the class index without background)."""
    boxes = clip_boxes(bbox_pred(rois[:, 1:], deltas), im_shape) / scale
    per_class = []
    for j in range(1, cls_prob.shape[1]):
        indexes = np.where(cls_prob[:, j] > SCORE_THRESH)[0]
        dets = np.hstack((boxes[indexes, 4:8], cls_prob[indexes, j, None]))
        dets = dets[nms(dets, TEST_NMS)]
        per_class.append(np.hstack((dets, np.full((len(dets), 1), j - 1.0))))
    dets = np.vstack(per_class)
    if len(dets) > MAX_PER_IMAGE:
        dets = dets[dets[:, 4] >= np.sort(dets[:, 4])[-MAX_PER_IMAGE]]
    return dets


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--model', choices=('rfcn', 'rfcn_dcn'), required=True)
    parser.add_argument('--dataset', choices=sorted(NUM_CLASSES), required=True)
    parser.add_argument('--height', type=int, default=96)
    parser.add_argument('--width', type=int, default=160)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('out_dir')
    args = parser.parse_args()
    rng = np.random.RandomState(args.seed)
    image = rng.randint(0, 256, size=(args.height, args.width, 3)).astype(np.uint8)
    data = transform(image.astype(np.float64))
    im_info = np.array([[args.height, args.width, 1.0]])
    rpn_symbol, rfcn_symbol = symbols(NUM_CLASSES[args.dataset],
                                                   args.model == 'rfcn_dcn')
    shapes = dict(data=data.shape, rois=(1, 5))
    arg, aux = random_params(mx.sym.Group([*rpn_symbol, *rfcn_symbol]),
                             dict(shapes, im_info=im_info.shape), rng)
    fold_bbox_stds(arg)
    os.makedirs(args.out_dir, exist_ok=True)
    saved = {f'arg:{k}': v for k, v in arg.items()}
    saved.update({f'aux:{k}': v for k, v in aux.items()})
    mx.nd.save(os.path.join(args.out_dir, 'model-0000.params'), saved)

    # the tester's weights: rfcn_bbox_*_test in place of rfcn_bbox_* (load_param process=True)
    test_arg = dict(arg)
    for name in [name for name in arg if name.endswith('_test')]:
        test_arg[name[:-len('_test')]] = test_arg.pop(name)
    inputs = dict(data=data, im_info=im_info)
    internals = rpn_symbol.get_internals()
    rpn_rois, rpn_scores, rpn_prob, rpn_deltas = run(
        mx.sym.Group([*rpn_symbol, internals['rpn_cls_prob_reshape_output'],
                      internals['rpn_bbox_pred_output']]), test_arg, aux, inputs)
    # the RoIs given to the head: the proposals (up to the first repeat) and boxes that reach
    # over the image's border or are smaller than a feature cell
    unique = len({tuple(r) for r in rpn_rois.tolist()})
    extra = np.array([[0, -20.5, -10, 60, 40], [0, 100, 50, args.width + 30, args.height + 12],
                      [0, 33.3, 21.7, 38.2, 26.9], [0, 0, 0, args.width - 1, args.height - 1]])
    given = np.vstack([rpn_rois[:unique], extra]).astype(np.float32)
    given_prob, given_deltas = run(rfcn_symbol, test_arg, aux, dict(data=data, rois=given))
    # the detections of the given RoIs less those whose scores equal another's exactly (RoIs
    # that pool the same bins): NMS visits equal scores in an arbitrary order
    _, first = np.unique(given_prob[0], axis=0, return_index=True)
    distinct = np.sort(first)
    np.savez(os.path.join(args.out_dir, 'reference.npz'), image_bgr=image,
             rpn_object_prob=rpn_prob[:, NUM_ANCHORS:], rpn_deltas=rpn_deltas,
             rpn_rois=rpn_rois[:unique], rpn_scores=rpn_scores[:unique, 0],
             rois=given, cls_prob=given_prob[0], bbox_deltas=given_deltas[0],
             detection_rois=given[distinct],
             detections=detections(given[distinct], given_prob[0][distinct],
                                   given_deltas[0][distinct], (args.height, args.width)))
    print(f'{args.model} {args.dataset}: {unique} proposals (max score {rpn_scores.max():.4f}), '
          f'{len(given)} RoIs, class probability max {given_prob.max():.4f}')


if __name__ == '__main__':
    main()
