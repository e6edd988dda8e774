"""Pure-PyTorch position-sensitive RoI pooling, written from the definitions (R-FCN paper,
torchvision's documented arithmetic) for the tests: slow, simple, differentiable by autograd.

Pool bins are clipped to [0, H] x [0, W]; align uses torchvision's half-pixel offset and its
bilinear rules. RoIs with a non-finite coordinate pool 0.
"""
import math

import torch


def _finite(roi):
    return all(math.isfinite(float(v)) for v in roi)


def ps_roi_pool_reference(input, rois, output_size, spatial_scale):
    kh, kw = output_size
    n, channels, height, width = input.shape
    c_out = channels // (kh * kw)
    out = input.new_zeros((rois.size(0), c_out, kh, kw))
    for k, roi in enumerate(rois.tolist()):
        if not _finite(roi):
            continue
        b = int(roi[0])
        x1, y1, x2, y2 = (round_half_away(v * spatial_scale) for v in roi[1:])
        roi_w, roi_h = max(x2 - x1, 1), max(y2 - y1, 1)
        bin_h, bin_w = roi_h / kh, roi_w / kw
        for i in range(kh):
            h0 = min(max(math.floor(i * bin_h) + y1, 0), height)
            h1 = min(max(math.ceil((i + 1) * bin_h) + y1, 0), height)
            for j in range(kw):
                w0 = min(max(math.floor(j * bin_w) + x1, 0), width)
                w1 = min(max(math.ceil((j + 1) * bin_w) + x1, 0), width)
                if h1 <= h0 or w1 <= w0:
                    continue
                channels_ij = torch.arange(c_out) * kh * kw + i * kw + j
                region = input[b, channels_ij, h0:h1, w0:w1]
                out[k, :, i, j] = region.mean(dim=(1, 2))
    return out


def round_half_away(v):
    """C's round(): halves away from zero (Python's round() goes to even)."""
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def _bilinear(plane, y, x):
    height, width = plane.shape[-2:]
    if not (-1 <= y <= height and -1 <= x <= width):
        return plane.new_zeros(plane.shape[:-2])
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= height - 1:
        y0 = y1 = height - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= width - 1:
        x0 = x1 = width - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    return ((1 - ly) * (1 - lx) * plane[..., y0, x0] + (1 - ly) * lx * plane[..., y0, x1]
            + ly * (1 - lx) * plane[..., y1, x0] + ly * lx * plane[..., y1, x1])


def ps_roi_align_reference(input, rois, output_size, spatial_scale, sampling_ratio):
    kh, kw = output_size
    n, channels, height, width = input.shape
    c_out = channels // (kh * kw)
    out = input.new_zeros((rois.size(0), c_out, kh, kw))
    for k, roi in enumerate(rois.tolist()):
        if not _finite(roi):
            continue
        b = int(roi[0])
        x1, y1, x2, y2 = (v * spatial_scale - 0.5 for v in roi[1:])
        bin_h, bin_w = (y2 - y1) / kh, (x2 - x1) / kw
        grid_h = sampling_ratio if sampling_ratio > 0 else max(math.ceil(bin_h), 0)
        grid_w = sampling_ratio if sampling_ratio > 0 else max(math.ceil(bin_w), 0)
        if grid_h * grid_w == 0:
            continue
        for i in range(kh):
            for j in range(kw):
                plane = input[b, torch.arange(c_out) * kh * kw + i * kw + j]
                total = 0
                for iy in range(grid_h):
                    y = y1 + i * bin_h + (iy + 0.5) * bin_h / grid_h
                    for ix in range(grid_w):
                        x = x1 + j * bin_w + (ix + 0.5) * bin_w / grid_w
                        total = total + _bilinear(plane, y, x)
                out[k, :, i, j] = total / (grid_h * grid_w)
    return out
