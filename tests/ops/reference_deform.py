"""References of deformable PS RoI pooling for the tests.

deform_ps_roi_pool_reference: the default convention in pure PyTorch, written from its
definition: slow, simple, differentiable by autograd with respect to the map and the offsets.
PS RoI Align's bins (continuous RoI, half-pixel offset, samples at the centres of a
sample_per_part x sample_per_part grid) moved by offset * trans_std * RoI size; samples outside
[-1, H] x [-1, W] are skipped, the others averaged; RoIs with a non-finite value pool 0.

deformable_psroi_pooling_original(_backward): Deformable-ConvNets' CUDA kernels transliterated
(forward; backward to the map and to the offsets), for original=True.
"""
import math

import torch


def _bilinear(plane, y, x):
    """plane (C, H, W) at the 0-d tensor point (y, x), None outside [-1, H] x [-1, W].

    Coordinates are clamped to [0, H - 1] x [0, W - 1] (the sample then does not move with
    them); autograd differentiates through the weights."""
    height, width = plane.shape[-2:]
    if not (-1 <= float(y.detach()) <= height and -1 <= float(x.detach()) <= width):
        return None
    y, x = y.clamp(0, height - 1), x.clamp(0, width - 1)
    y0, x0 = int(y), int(x)
    y1, x1 = min(y0 + 1, height - 1), min(x0 + 1, width - 1)
    ly, lx = y - y0, x - x0
    return ((1 - ly) * (1 - lx) * plane[:, y0, x0] + (1 - ly) * lx * plane[:, y0, x1]
            + ly * (1 - lx) * plane[:, y1, x0] + ly * lx * plane[:, y1, x1])


def deform_ps_roi_pool_reference(input, rois, offset, output_size, spatial_scale,
                                 sample_per_part, trans_std):
    kh, kw = output_size
    channels = input.size(1)
    c_out = channels // (kh * kw)
    groups = 0 if offset is None else offset.size(1) // 2
    per_group = c_out // max(groups, 1)
    zero = input.new_zeros(())
    out = []
    for k, roi in enumerate(rois.double().tolist()):
        if not all(math.isfinite(v) for v in roi):
            out.append(input.new_zeros((c_out, kh, kw)))
            continue
        b = int(roi[0])
        x1, y1, x2, y2 = (v * spatial_scale - 0.5 for v in roi[1:])
        roi_w, roi_h = x2 - x1, y2 - y1
        bin_h, bin_w = roi_h / kh, roi_w / kw
        bins = []
        for c in range(c_out):
            for i in range(kh):
                for j in range(kw):
                    dy = dx = zero
                    if groups:
                        g, pi = c // per_group, i * offset.size(2) // kh
                        pj = j * offset.size(3) // kw
                        dx = offset[k, 2 * g, pi, pj].to(input.dtype) * trans_std * roi_w
                        dy = offset[k, 2 * g + 1, pi, pj].to(input.dtype) * trans_std * roi_h
                    plane = input[b, (c * kh + i) * kw + j][None]
                    samples = []
                    for iy in range(sample_per_part):
                        y = y1 + i * bin_h + (iy + 0.5) * bin_h / sample_per_part + dy
                        for ix in range(sample_per_part):
                            x = x1 + j * bin_w + (ix + 0.5) * bin_w / sample_per_part + dx
                            value = _bilinear(plane, y, x)
                            if value is not None:
                                samples.append(value[0])
                    bins.append(torch.stack(samples).mean() if samples else zero)
        out.append(torch.stack(bins).reshape(c_out, kh, kw))
    if not out:
        return input.new_zeros((0, c_out, kh, kw))
    return torch.stack(out)


# ---------------------------------------------------------------------------------------------
# Deformable-ConvNets' kernel, transliterated: DeformablePSROIPoolForwardKernel and
# DeformablePSROIPoolBackwardAccKernel of rfcn/operator_cxx/deformable_psroi_pooling.cu
# (msracver/Deformable-ConvNets, MXNet), one output element at a time, with the original's
# names, parameters (square pooled_size, group_size and part_size; part_size 0: pooled_size;
# no_trans) and arithmetic order, in Python floats (the kernel's DType = double). Flat lists
# stand for the kernel's pointers. Not derived from this package's C++.
# ---------------------------------------------------------------------------------------------
def _c_round(v):
    """C's round(): halves away from zero (Python's round() goes to even)."""
    t = math.trunc(v)
    if abs(v - t) >= 0.5:
        t += math.copysign(1, v)
    return float(t)


def _bilinear_interp(data, base, x, y, width, height):
    x1, x2, y1, y2 = math.floor(x), math.ceil(x), math.floor(y), math.ceil(y)
    dist_x, dist_y = x - x1, y - y1
    value11 = data[base + y1 * width + x1]
    value12 = data[base + y2 * width + x1]
    value21 = data[base + y1 * width + x2]
    value22 = data[base + y2 * width + x2]
    return ((1 - dist_x) * (1 - dist_y) * value11 + (1 - dist_x) * dist_y * value12
            + dist_x * (1 - dist_y) * value21 + dist_x * dist_y * value22)


class _Setup:
    """What the operator's Forward/Backward and the kernel prologue derive from the inputs."""

    def __init__(self, data, rois, trans, spatial_scale, output_dim, group_size, pooled_size,
                 part_size, sample_per_part, trans_std):
        self.no_trans = trans is None
        self.batch, self.channels, self.height, self.width = data.shape
        self.data = data.double().flatten().tolist()
        self.rois = rois.double().flatten().tolist()
        self.trans = None if self.no_trans else trans.double().flatten().tolist()
        self.num_rois = rois.size(0)
        self.spatial_scale, self.output_dim, self.group_size = spatial_scale, output_dim, group_size
        self.pooled_height = self.pooled_width = pooled_size
        self.part_size = part_size or pooled_size  # DeformablePSROIPoolingProp::Init
        self.sample_per_part, self.trans_std = sample_per_part, trans_std
        self.num_classes = 1 if self.no_trans else trans.size(1) // 2
        self.channels_each_class = output_dim if self.no_trans else output_dim // self.num_classes
        self.count = self.num_rois * output_dim * pooled_size * pooled_size

    def element(self, index):
        """The kernels' common prologue for output element ``index``."""
        pooled_height, pooled_width = self.pooled_height, self.pooled_width
        part_size, spatial_scale = self.part_size, self.spatial_scale
        e = {}
        e['pw'] = pw = index % pooled_width
        e['ph'] = ph = (index // pooled_width) % pooled_height
        e['ctop'] = ctop = (index // pooled_width // pooled_height) % self.output_dim
        e['n'] = n = index // pooled_width // pooled_height // self.output_dim
        offset_bottom_rois = self.rois[n * 5:n * 5 + 5]
        e['roi_batch_ind'] = int(offset_bottom_rois[0])
        roi_start_w = _c_round(offset_bottom_rois[1]) * spatial_scale - 0.5
        roi_start_h = _c_round(offset_bottom_rois[2]) * spatial_scale - 0.5
        roi_end_w = (_c_round(offset_bottom_rois[3]) + 1.) * spatial_scale - 0.5
        roi_end_h = (_c_round(offset_bottom_rois[4]) + 1.) * spatial_scale - 0.5
        e['roi_width'] = roi_width = max(roi_end_w - roi_start_w, 0.1)
        e['roi_height'] = roi_height = max(roi_end_h - roi_start_h, 0.1)
        bin_size_h = roi_height / pooled_height
        bin_size_w = roi_width / pooled_width
        e['sub_bin_size_h'] = bin_size_h / self.sample_per_part
        e['sub_bin_size_w'] = bin_size_w / self.sample_per_part
        e['part_h'] = part_h = math.floor(ph / pooled_height * part_size)
        e['part_w'] = part_w = math.floor(pw / pooled_width * part_size)
        e['class_id'] = class_id = ctop // self.channels_each_class
        e['trans_x_index'] = (((n * self.num_classes + class_id) * 2) * part_size
                              + part_h) * part_size + part_w
        e['trans_y_index'] = (((n * self.num_classes + class_id) * 2 + 1) * part_size
                              + part_h) * part_size + part_w
        trans_x = 0.0 if self.no_trans else self.trans[e['trans_x_index']] * self.trans_std
        trans_y = 0.0 if self.no_trans else self.trans[e['trans_y_index']] * self.trans_std
        wstart = pw * bin_size_w + roi_start_w
        e['wstart'] = wstart + trans_x * roi_width
        hstart = ph * bin_size_h + roi_start_h
        e['hstart'] = hstart + trans_y * roi_height
        gw = math.floor(pw * self.group_size / pooled_width)
        gh = math.floor(ph * self.group_size / pooled_height)
        gw = min(max(gw, 0), self.group_size - 1)
        gh = min(max(gh, 0), self.group_size - 1)
        e['c'] = (ctop * self.group_size + gh) * self.group_size + gw
        return e

    def samples(self, e):
        """(w, h) of the samples the kernels keep, clamped as they clamp them."""
        for ih in range(self.sample_per_part):
            for iw in range(self.sample_per_part):
                w = e['wstart'] + iw * e['sub_bin_size_w']
                h = e['hstart'] + ih * e['sub_bin_size_h']
                if w < -0.5 or w > self.width - 0.5 or h < -0.5 or h > self.height - 0.5:
                    continue
                w = min(max(w, 0.), self.width - 1.)
                h = min(max(h, 0.), self.height - 1.)
                yield w, h


def deformable_psroi_pooling_original(data, rois, trans, spatial_scale, output_dim, group_size,
                                      pooled_size, part_size=0, sample_per_part=1,
                                      trans_std=0.0):
    """Forward: ``(top_data, top_count)``, both ``(K, output_dim, pooled, pooled)`` double.
    ``trans`` ``(K, 2 * num_classes, part, part)`` or None (no_trans)."""
    st = _Setup(data, rois, trans, spatial_scale, output_dim, group_size, pooled_size,
                part_size, sample_per_part, trans_std)
    top_data, top_count = [0.0] * st.count, [0.0] * st.count
    for index in range(st.count):
        e = st.element(index)
        total, count = 0.0, 0
        offset_bottom_data = (e['roi_batch_ind'] * st.channels) * st.height * st.width
        for w, h in st.samples(e):
            total += _bilinear_interp(st.data, offset_bottom_data + e['c'] * st.height * st.width,
                                      w, h, st.width, st.height)
            count += 1
        top_data[index] = 0.0 if count == 0 else total / count
        top_count[index] = float(count)
    shape = (st.num_rois, output_dim, pooled_size, pooled_size)
    return (torch.tensor(top_data, dtype=torch.float64).reshape(shape),
            torch.tensor(top_count, dtype=torch.float64).reshape(shape))


def deformable_psroi_pooling_original_backward(top_diff, data, rois, trans, spatial_scale,
                                               output_dim, group_size, pooled_size, part_size=0,
                                               sample_per_part=1, trans_std=0.0):
    """Backward: ``(grad_data, grad_trans)`` (``grad_trans`` None with no_trans), double."""
    st = _Setup(data, rois, trans, spatial_scale, output_dim, group_size, pooled_size,
                part_size, sample_per_part, trans_std)
    _, top_count = deformable_psroi_pooling_original(
        data, rois, trans, spatial_scale, output_dim, group_size, pooled_size, part_size,
        sample_per_part, trans_std)
    top_count = top_count.flatten().tolist()
    top_diff = top_diff.double().flatten().tolist()
    bottom_data_diff = [0.0] * len(st.data)
    bottom_trans_diff = None if st.no_trans else [0.0] * len(st.trans)
    width, height = st.width, st.height
    for index in range(st.count):
        e = st.element(index)
        if top_count[index] <= 0:
            continue
        diff_val = top_diff[index] / top_count[index]
        offset_bottom_data = e['roi_batch_ind'] * st.channels * height * width
        for w, h in st.samples(e):
            x0, x1, y0, y1 = math.floor(w), math.ceil(w), math.floor(h), math.ceil(h)
            dist_x, dist_y = w - x0, h - y0
            q00 = (1 - dist_x) * (1 - dist_y)
            q01 = (1 - dist_x) * dist_y
            q10 = dist_x * (1 - dist_y)
            q11 = dist_x * dist_y
            base = offset_bottom_data + e['c'] * height * width
            bottom_data_diff[base + y0 * width + x0] += q00 * diff_val
            bottom_data_diff[base + y1 * width + x0] += q01 * diff_val
            bottom_data_diff[base + y0 * width + x1] += q10 * diff_val
            bottom_data_diff[base + y1 * width + x1] += q11 * diff_val
            if st.no_trans:
                continue
            u00 = st.data[base + y0 * width + x0]
            u01 = st.data[base + y1 * width + x0]
            u10 = st.data[base + y0 * width + x1]
            u11 = st.data[base + y1 * width + x1]
            diff_x = ((u11 * dist_y + u10 * (1 - dist_y) - u01 * dist_y - u00 * (1 - dist_y))
                      * st.trans_std * diff_val)
            diff_x *= e['roi_width']
            diff_y = ((u11 * dist_x + u01 * (1 - dist_x) - u10 * dist_x - u00 * (1 - dist_x))
                      * st.trans_std * diff_val)
            diff_y *= e['roi_height']
            bottom_trans_diff[e['trans_x_index']] += diff_x
            bottom_trans_diff[e['trans_y_index']] += diff_y
    grad_data = torch.tensor(bottom_data_diff, dtype=torch.float64).reshape(data.shape)
    if st.no_trans:
        return grad_data, None
    return grad_data, torch.tensor(bottom_trans_diff, dtype=torch.float64).reshape(trans.shape)
