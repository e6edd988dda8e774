"""Pure-PyTorch position-sensitive RoI pooling, written from the definitions (R-FCN paper,
torchvision's documented arithmetic) for the tests: slow, simple, differentiable by autograd.

Pool bins are clipped to [0, H] x [0, W]; align uses torchvision's half-pixel offset and its
bilinear rules. RoIs with a non-finite coordinate pool 0.

``CaffePSROIPooling`` transliterates R-FCN's original Caffe layer instead (plain loops over
numpy arrays, in the layer's own dtype), for ``ps_roi_pool(..., original=True)``.
"""
import math

import numpy as np
import torch


def _finite(roi):
    return all(math.isfinite(float(v)) for v in roi)


def _finite_rois(input, rois, output_size):
    """The all-zero ``(K, C_out, kh, kw)`` output and ``(k, batch index, box)`` of each RoI
    with finite coordinates (the others pool 0)."""
    kh, kw = output_size
    c_out = input.size(1) // (kh * kw)
    out = input.new_zeros((rois.size(0), c_out, kh, kw))
    finite = [(k, int(roi[0]), roi[1:]) for k, roi in enumerate(rois.tolist()) if _finite(roi)]
    return out, finite


def ps_roi_pool_reference(input, rois, output_size, spatial_scale):
    kh, kw = output_size
    height, width = input.shape[-2:]
    c_out = input.size(1) // (kh * kw)
    out, finite = _finite_rois(input, rois, output_size)
    for k, b, box in finite:
        x1, y1, x2, y2 = (round_half_away(v * spatial_scale) for v in box)
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
    """C's round(): halves away from zero (Python's round() goes to even), as an int."""
    magnitude = abs(v)
    whole = math.floor(magnitude)
    if magnitude - whole >= 0.5:  # exact: no rounding in floor or in this subtraction
        whole += 1
    return int(whole) * (1 if v >= 0 else -1)


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
    c_out = input.size(1) // (kh * kw)
    out, finite = _finite_rois(input, rois, output_size)
    for k, b, box in finite:
        x1, y1, x2, y2 = (v * spatial_scale - 0.5 for v in box)
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


class CaffePSROIPooling:
    """R-FCN's original ``PSROIPooling`` layer (daijifeng001/caffe-rfcn,
    src/caffe/layers/psroi_pooling_layer.cu), transliterated: ``forward`` is the kernel
    ``PSROIPoolingForward`` and ``backward`` the kernel ``PSROIPoolingBackwardAtomic``, one
    loop iteration per CUDA thread (output element), in the layer's ``Dtype`` (the numpy dtype
    of ``bottom_data``: float32 or float64). The layer's square ``group_size`` is generalised
    to ``pooled_height x pooled_width``: output bin (ctop, ph, pw) reads channel
    ``(ctop * pooled_height + ph) * pooled_width + pw``.
    """

    def __init__(self, spatial_scale, pooled_height, pooled_width):
        self.spatial_scale = spatial_scale
        self.pooled_height, self.pooled_width = pooled_height, pooled_width

    def _bin(self, roi, ph, pw, height, width, dtype):
        """The kernels' shared lines: the RoI's image and its bin [hstart, hend) x [wstart,
        wend), clipped to the map."""
        spatial_scale = dtype(self.spatial_scale)  # the layer's member is a Dtype
        roi_batch_ind = int(roi[0])
        roi_start_w = dtype(round_half_away(roi[1])) * spatial_scale
        roi_start_h = dtype(round_half_away(roi[2])) * spatial_scale
        roi_end_w = dtype(round_half_away(roi[3]) + 1.) * spatial_scale
        roi_end_h = dtype(round_half_away(roi[4]) + 1.) * spatial_scale
        # max(Dtype, double) is a double, assigned back to a Dtype
        roi_width = dtype(max(float(roi_end_w - roi_start_w), 0.1))
        roi_height = dtype(max(float(roi_end_h - roi_start_h), 0.1))
        bin_size_h = roi_height / dtype(self.pooled_height)
        bin_size_w = roi_width / dtype(self.pooled_width)
        hstart = math.floor(dtype(ph) * bin_size_h + roi_start_h)
        wstart = math.floor(dtype(pw) * bin_size_w + roi_start_w)
        hend = math.ceil(dtype(ph + 1) * bin_size_h + roi_start_h)
        wend = math.ceil(dtype(pw + 1) * bin_size_w + roi_start_w)
        hstart = min(max(hstart, 0), height)
        hend = min(max(hend, 0), height)
        wstart = min(max(wstart, 0), width)
        wend = min(max(wend, 0), width)
        return roi_batch_ind, hstart, hend, wstart, wend

    def _elements(self, num_rois, output_dim):
        """(index, n, ctop, ph, pw) of every output element, the kernels' index arithmetic."""
        pooled_height, pooled_width = self.pooled_height, self.pooled_width
        for index in range(num_rois * output_dim * pooled_height * pooled_width):
            pw = index % pooled_width
            ph = (index // pooled_width) % pooled_height
            ctop = (index // pooled_width // pooled_height) % output_dim
            n = index // pooled_width // pooled_height // output_dim
            yield index, n, ctop, ph, pw

    def forward(self, bottom_data, bottom_rois):
        """bottom_data (N, C, H, W), bottom_rois (K, 5) -> top_data (K, C / (kh*kw), kh, kw)."""
        dtype = bottom_data.dtype.type
        rois = bottom_rois.astype(dtype)
        _, channels, height, width = bottom_data.shape
        output_dim = channels // (self.pooled_height * self.pooled_width)
        top_data = np.zeros((len(rois), output_dim, self.pooled_height, self.pooled_width),
                            dtype)
        flat = top_data.reshape(-1)
        for index, n, ctop, ph, pw in self._elements(len(rois), output_dim):
            b, hstart, hend, wstart, wend = self._bin(rois[n], ph, pw, height, width, dtype)
            is_empty = hend <= hstart or wend <= wstart
            c = (ctop * self.pooled_height + ph) * self.pooled_width + pw
            out_sum = dtype(0)
            for h in range(hstart, hend):
                for w in range(wstart, wend):
                    out_sum += bottom_data[b, c, h, w]
            bin_area = dtype((hend - hstart) * (wend - wstart))
            flat[index] = 0. if is_empty else out_sum / bin_area
        return top_data

    def backward(self, top_diff, bottom_rois, bottom_shape):
        """top_diff (K, C / (kh*kw), kh, kw) -> bottom_diff of shape bottom_shape."""
        dtype = top_diff.dtype.type
        rois = bottom_rois.astype(dtype)
        _, channels, height, width = bottom_shape
        output_dim = channels // (self.pooled_height * self.pooled_width)
        bottom_diff = np.zeros(bottom_shape, dtype)
        flat = top_diff.reshape(-1)
        for index, n, ctop, ph, pw in self._elements(len(rois), output_dim):
            b, hstart, hend, wstart, wend = self._bin(rois[n], ph, pw, height, width, dtype)
            is_empty = hend <= hstart or wend <= wstart
            c = (ctop * self.pooled_height + ph) * self.pooled_width + pw  # mapping_channel
            bin_area = dtype((hend - hstart) * (wend - wstart))
            diff_val = dtype(0) if is_empty else flat[index] / bin_area
            for h in range(hstart, hend):
                for w in range(wstart, wend):
                    bottom_diff[b, c, h, w] += diff_val
        return bottom_diff
