"""Pure-PyTorch deformable PS RoI pooling, written from its definition for the tests: slow,
simple, differentiable by autograd with respect to the map and the offsets.

PS RoI Align's bins (continuous RoI, half-pixel offset, samples at the centres of a
sample_per_part x sample_per_part grid) moved by offset * trans_std * RoI size; samples outside
[-1, H] x [-1, W] are skipped, the others averaged; RoIs with a non-finite value pool 0.
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
