"""The position-sensitive RoI ops written as standard ONNX operators (no custom domain).

One decomposition per op, written once against a small emitter (:class:`Emitter`) that either
exporter drives: the TorchScript exporter's graph context or onnxscript's op recorder (the
dynamo exporter); :mod:`mmdet_psroi.ops.onnx_export` registers both. The number of RoIs ``K``
and the map size ``(H, W)`` stay dynamic; ``kh, kw``, the channels, ``spatial_scale``,
``sampling_ratio`` / ``sample_per_part`` and ``trans_std`` are baked into the graph.

Layout shared by the decompositions: the map ``(N, C_out*kh*kw, H, W)`` is rearranged once into
rows ``(n, [g,] i, j, y, x)`` of ``C_out`` (or ``C_out / G``) columns, so one ``Gather`` reads,
for every RoI, bin and sample point, exactly the channels that bin pools.

- ``ps_roi_pool`` (both rules, ``'torchvision'`` and ``'caffe'``): bin sums from prefix sums
  that never run over the whole map, in float32. Each channel is centred on its mean, prefix
  sums along W (``CumSum``) give any row segment's sum as a difference of two values; rows are
  grouped in segments of ``SEGMENT_ROWS`` with exclusive prefix sums inside each segment and
  each segment's total, so a bin's sum is two in-segment differences plus the totals of the
  whole segments it spans (a ``Range`` over the segments, masked). The bin average is that sum
  over its area plus the channel's mean (0 when empty). The bin edges' ``floor``/``ceil`` of
  multiples of ``roi_size / bins`` use that quotient rounded as IEEE float32 division rounds
  it, computed from exact integer and float operations (:meth:`_Builder.exact_quotient`);
  C's ``round`` (halves away from zero) is written with ``Floor``.
- ``ps_roi_align`` and ``deform_ps_roi_pool`` (both rules, ``'torchvision'`` and
  ``'mxnet'``): the ``S x S`` sample points of each bin, their bilinear taps (clamped as the
  kernels do) gathered and weighted; ``ps_roi_align`` divides by ``S*S``,
  ``deform_ps_roi_pool`` by the number of samples inside its rule's window.

Every tensor is float32, int64 or bool (no float64), every tensor has rank <= 7, and only
operators of TensorRT's ONNX parser support matrix are used, with their ``axes`` / ``axis``
inputs constant (``tests/ops/test_onnx_graphs.py`` checks the exported graphs).

A RoI with a non-finite coordinate or a batch index outside ``[0, N)`` pools 0 (the CPU op
refuses the latter with an error; a graph cannot raise). Maps with no pixels (H or W = 0) are
not supported by the graphs (their ``Gather`` has nothing to read).
"""
import math
import struct

# ONNX TensorProto data types.
FLOAT, INT64 = 1, 7
COORDINATE_LIMIT = float(1 << 24)  # kCoordinateLimit in csrc/common/ps_roi_math.h
SEGMENT_ROWS = 32  # ps_roi_pool: rows of the segments whose prefix sums it gathers


class Emitter:
    """Adds ONNX nodes to a graph being exported.

    ``emit(op_type, *inputs, **attributes)`` returns the node's output; ``constant(values,
    dtype)`` a constant tensor of the shape of ``values`` (a Python scalar: 0-d; nested lists:
    their shape) and ONNX data type ``dtype`` (``FLOAT`` or ``INT64``).
    """

    def emit(self, op_type, *inputs, **attributes):
        raise NotImplementedError

    def constant(self, values, dtype):
        raise NotImplementedError


class _Builder:
    """Shorthands over an :class:`Emitter`."""

    def __init__(self, emitter):
        self.e = emitter

    def op(self, op_type, *inputs, **attributes):
        return self.e.emit(op_type, *inputs, **attributes)

    def ints(self, *values):
        return self.e.constant(list(values), INT64)

    def f32(self, value):
        return self.e.constant(float(value), FLOAT)

    def dim(self, x, axis, dtype=INT64):
        """``x.shape[axis]`` as a 1-D tensor of one element of type ``dtype`` (Gather of Shape:
        torch's TorchScript shape inference crashes on Shape's start/end with static shapes)."""
        size = self.op('Gather', self.op('Shape', x), self.ints(axis), axis=0)
        return size if dtype == INT64 else self.op('Cast', size, to=dtype)

    def unsqueeze(self, x, *axes):
        return self.op('Unsqueeze', x, self.ints(*axes))

    def reshape(self, x, *shape):
        """Reshape to ``shape``; an entry 0 keeps that dimension of ``x`` (read from its shape:
        the TorchScript exporter's shape inference rejects Reshape's own 0), a tensor entry is
        a 1-D size."""
        parts = [v if not isinstance(v, int) else self.dim(x, axis) if v == 0 else self.ints(v)
                 for axis, v in enumerate(shape)]
        return self.op('Reshape', x, self.op('Concat', *parts, axis=0))

    def column(self, rois, index):
        """Column ``index`` of ``(K, 5)`` rois as ``(K, 1)``."""
        return self.op('Slice', rois, self.ints(index), self.ints(index + 1), self.ints(1))

    def where(self, condition, x, y):
        return self.op('Where', condition, x, y)

    def stack_last(self, *xs):
        return self.op('Concat', *[self.unsqueeze(x, -1) for x in xs], axis=-1)

    def sum(self, x, *axes, keepdims=0):
        return self.op('ReduceSum', x, self.ints(*axes), keepdims=keepdims)

    def exact_quotient(self, x, divisor):
        """``x / divisor`` rounded to float32 as IEEE division rounds it, for float32 ``x`` in
        ``[2**-30, 2**26]`` and an integer ``divisor`` in ``[1, 127]``, from operations every
        runtime computes exactly (OpenVINO's CPU plugin divides floats approximately, which
        moves ``floor``/``ceil`` of multiples of the quotient); a larger ``x`` is divided by
        ``Div``. ``x`` is scaled by a power of two ``2**s`` (found by bisection, ``-3 <= s <=
        60``) so that it is an integer whose quotient has 24 significant bits, the integer
        quotient is rounded half to even, and scaled back; every integer stays below
        ``2**31``."""
        limit = self.f32(2.0 ** 26)
        target = self.f32(divisor * 2 ** 23)
        scaled = self.op('Mul', self.op('Min', x, limit), self.f32(2.0 ** -3))
        scale_back = self.f32(2.0 ** 3)
        for bit in (32, 16, 8, 4, 2, 1):
            # scale more while x * 2**(s + bit - 1) stays below the target
            more = self.op('Less', self.op('Mul', scaled, self.f32(2.0 ** (bit - 1))), target)
            scaled = self.where(more, self.op('Mul', scaled, self.f32(2.0 ** bit)), scaled)
            scale_back = self.where(more, self.op('Mul', scale_back, self.f32(2.0 ** -bit)),
                                    scale_back)
        scaled = self.op('Cast', scaled, to=INT64)  # in [divisor * 2**23, divisor * 2**24)
        quotient = self.op('Div', scaled, self.ints(divisor))
        twice_rest = self.op('Mul', self.op('Sub', scaled, self.op('Mul', quotient,
                                                                   self.ints(divisor))),
                             self.ints(2))
        odd = self.op('Sub', quotient, self.op('Mul', self.op('Div', quotient, self.ints(2)),
                                               self.ints(2)))
        up = self.op('Or', self.op('Greater', twice_rest, self.ints(divisor)),
                     self.op('And', self.op('Equal', twice_rest, self.ints(divisor)),
                             self.op('Equal', odd, self.ints(1))))
        quotient = self.op('Add', quotient, self.op('Cast', up, to=INT64))
        exact = self.op('Mul', self.op('Cast', quotient, to=FLOAT), scale_back)
        return self.where(self.op('LessOrEqual', x, limit), exact,
                          self.op('Div', x, self.f32(divisor)))

    def round_half_away(self, x):
        """C's ``round``: halves away from zero (ONNX ``Round`` rounds them to even)."""
        magnitude = self.op('Abs', x)
        floor = self.op('Floor', magnitude)
        up = self.op('Cast', self.op('GreaterOrEqual', self.op('Sub', magnitude, floor),
                                     self.f32(0.5)), to=FLOAT)
        return self.op('Mul', self.op('Sign', x), self.op('Add', floor, up))


def _read_rois(b, input, rois):
    """Returns ``(valid (K, 1) float 1/0, batch (K, 1) int64, x1, y1, x2, y2 (K, 1) float32)``;
    the coordinates of an invalid RoI are replaced by 0 (it is masked out at the end)."""
    rois = b.op('Cast', rois, to=FLOAT)
    finite = b.op('Equal', b.op('Sub', rois, rois), b.f32(0))  # False for NaN and +-inf
    all_finite = b.op('Equal', b.sum(b.op('Cast', b.op('Not', finite), to=FLOAT), 1,
                                     keepdims=1), b.f32(0))
    batch = b.column(rois, 0)
    images = b.dim(input, 0, FLOAT)
    in_batch = b.op('And', b.op('GreaterOrEqual', batch, b.f32(0)),
                    b.op('Less', batch, images))
    valid = b.op('And', all_finite, in_batch)
    rois = b.where(valid, rois, b.f32(0))
    batch = b.op('Cast', b.op('Floor', b.column(rois, 0)), to=INT64)
    return (b.op('Cast', valid, to=FLOAT), batch) + tuple(b.column(rois, i) for i in range(1, 5))


def _rows(b, input, channels, kh, kw, groups):
    """The map ``(N, C, H, W)`` as rows ``(n, g, i, j, y, x)`` of ``C_out / groups`` columns:
    one Transpose moving the ``C_out / groups`` axis last over ``kh * kw * H * W`` (a single
    axis moved, which onnxruntime does about 6x faster than the same move written in 7-D)."""
    per_group = channels // (kh * kw * groups)
    cells = b.op('Mul', b.op('Mul', b.dim(input, 2), b.dim(input, 3)), b.ints(kh * kw))
    x = b.reshape(input, 0, groups, per_group, cells)
    x = b.op('Transpose', x, perm=[0, 1, 3, 2])  # (N, G, kh * kw * H * W, C_out / G)
    return b.reshape(x, -1, per_group)


def _bin_base(b, batch, kh, kw, groups, plane):
    """Row of pixel (0, 0) of every (RoI k, group g, bin i, j): ``(K, G, kh, kw)`` int64."""
    i = b.e.constant([[[[v] for v in range(kh)]]], INT64)  # (1, 1, kh, 1)
    j = b.e.constant(list(range(kw)), INT64)  # (kw,)
    g = b.e.constant([[[[v]] for v in range(groups)]], INT64)  # (1, G, 1, 1)
    image_group = b.op('Add', b.op('Mul', b.reshape(batch, 0, 1, 1, 1), b.ints(groups)), g)
    bin_index = b.op('Add', b.op('Mul', b.op('Add', b.op('Mul', image_group, b.ints(kh)), i),
                                 b.ints(kw)), j)
    return b.op('Mul', bin_index, plane)


def ps_roi_pool(emitter, input, rois, spatial_scale, kh, kw, channels, rule='torchvision'):
    """PS RoI Pool (``csrc/common/ps_roi_math.h``: ``pool_roi``, ``pool_bin``) by either rule,
    ``'torchvision'`` or ``'caffe'``: each bin's sum from row-wise prefix sums in float32 (see
    the module's docstring), divided by its integer area."""
    b = _Builder(emitter)
    caffe = rule == 'caffe'
    valid, batch, x1, y1, x2, y2 = _read_rois(b, input, rois)
    height, width = b.dim(input, 2, FLOAT), b.dim(input, 3, FLOAT)

    def clamp(v):
        return b.op('Clip', v, b.f32(-COORDINATE_LIMIT), b.f32(COORDINATE_LIMIT))

    def corner(v, end):
        """torchvision: ``round(v * scale)``; caffe: ``round(v) * scale`` (the end one cell
        further: ``(round(v) + 1) * scale``)."""
        if not caffe:
            return b.round_half_away(clamp(b.op('Mul', v, b.f32(spatial_scale))))
        v = b.round_half_away(v)
        return clamp(b.op('Mul', b.op('Add', v, b.f32(1)) if end else v, b.f32(spatial_scale)))

    def edges(start, end, bins, size):
        """Bin edges ``(K, bins)`` start and end, clipped to ``[0, size]``, as float32:
        torchvision: ``floor(i * bin) + start``, caffe: ``floor(i * bin + start)`` (ends
        likewise with ``ceil``)."""
        length = b.op('Max', b.op('Sub', end, start), b.f32(0.1 if caffe else 1))
        bin_size = b.exact_quotient(length, bins)
        index = b.e.constant([float(v) for v in range(bins)], FLOAT)
        lo = b.op('Mul', index, bin_size)
        hi = b.op('Mul', b.op('Add', index, b.f32(1)), bin_size)
        if caffe:
            lo, hi = b.op('Floor', b.op('Add', lo, start)), b.op('Ceil', b.op('Add', hi, start))
        else:
            lo, hi = b.op('Add', b.op('Floor', lo), start), b.op('Add', b.op('Ceil', hi), start)
        lo = b.op('Min', b.op('Max', lo, b.f32(0)), size)
        hi = b.op('Min', b.op('Max', hi, b.f32(0)), size)
        return lo, hi

    y_lo, y_hi = edges(corner(y1, False), corner(y2, True), kh, height)  # (K, kh)
    x_lo, x_hi = edges(corner(x1, False), corner(x2, True), kw, width)  # (K, kw)
    area = b.op('Mul', b.unsqueeze(b.op('Sub', y_hi, y_lo), 2),
                b.unsqueeze(b.op('Sub', x_hi, x_lo), 1))  # (K, kh, kw)

    # Centred map (each channel less its mean), padded with a zero column in front and zero
    # rows below to a whole number of segments (at least one row more than the map).
    mean = b.op('Div', b.sum(input, 2, 3, keepdims=1),
                b.op('Mul', height, width))  # (N, C, 1, 1)
    map_height = b.dim(input, 2)
    segments = b.op('Add', b.op('Div', map_height, b.ints(SEGMENT_ROWS)), b.ints(1))
    pad_rows = b.op('Sub', b.op('Mul', segments, b.ints(SEGMENT_ROWS)), map_height)
    pads = b.op('Concat', b.ints(0, 0, 0, 1, 0, 0), pad_rows, b.ints(0), axis=0)
    centred = b.op('Pad', b.op('Sub', input, mean), pads)  # (N, C, Hp, W + 1)
    stride = b.op('Add', b.dim(input, 3), b.ints(1))
    row_prefix = b.op('CumSum', centred, b.ints(3))  # sum of the row left of x
    blocks = b.reshape(row_prefix, 0, 0, segments, SEGMENT_ROWS, stride)
    above = b.op('CumSum', blocks, b.ints(3), exclusive=1)  # rows above y, same segment
    totals = b.sum(blocks, 3)  # (N, C, segments, W + 1): whole segments

    y_start, y_end = b.op('Cast', y_lo, to=INT64), b.op('Cast', y_hi, to=INT64)  # (K, kh)
    y_edges = b.stack_last(y_start, y_end)  # (K, kh, 2)
    x_edges = b.op('Cast', b.stack_last(x_lo, x_hi), to=INT64)  # (K, kw, 2)
    x_part = b.reshape(x_edges, 0, 1, kw, 1, 2)
    x_sign = b.e.constant([-1.0, 1.0], FLOAT)  # end column minus start column

    # in-segment part: above(end row) - above(start row), (K, kh, kw, 2 rows, 2 columns)
    plane = b.op('Mul', b.op('Mul', segments, b.ints(SEGMENT_ROWS)), stride)
    base = b.reshape(_bin_base(b, batch, kh, kw, 1, plane), 0, kh, kw, 1, 1)
    y_part = b.op('Mul', b.reshape(y_edges, 0, kh, 1, 2, 1), stride)
    rows = _rows(b, b.reshape(above, 0, 0, -1, stride), channels, kh, kw, 1)
    corners = b.op('Gather', rows, b.op('Add', b.op('Add', base, y_part), x_part), axis=0)
    sign = b.op('Mul', b.unsqueeze(x_sign, 0), b.unsqueeze(x_sign, 1))  # (2, 2)
    sums = b.sum(b.op('Mul', corners, b.unsqueeze(sign, -1)), 3, 4)  # (K, kh, kw, C_out)

    # whole segments from the start row's to the end row's (exclusive), masked
    first = b.unsqueeze(b.op('Div', y_start, b.ints(SEGMENT_ROWS)), 2)  # (K, kh, 1)
    last = b.unsqueeze(b.op('Div', y_end, b.ints(SEGMENT_ROWS)), 2)
    count = b.op('Squeeze', segments, b.ints(0))
    segment = b.op('Add', first, b.op('Range', b.e.constant(0, INT64), count,
                                      b.e.constant(1, INT64)))  # (K, kh, segments)
    covered = b.op('Cast', b.op('Less', segment, last), to=FLOAT)
    segment = b.op('Min', segment, b.op('Sub', segments, b.ints(1)))
    plane = b.op('Mul', segments, stride)
    base = b.reshape(_bin_base(b, batch, kh, kw, 1, plane), 0, kh, kw, 1, 1)
    y_part = b.unsqueeze(b.op('Mul', segment, stride), 2, 4)  # (K, kh, 1, segments, 1)
    rows = _rows(b, totals, channels, kh, kw, 1)
    whole = b.op('Gather', rows, b.op('Add', b.op('Add', base, y_part), x_part), axis=0)
    weight = b.op('Mul', b.unsqueeze(covered, 2, 4), x_sign)  # (K, kh, 1, segments, 2)
    sums = b.op('Add', sums, b.sum(b.op('Mul', whole, b.unsqueeze(weight, -1)), 3, 4))

    means = _rows(b, mean, channels, kh, kw, 1)  # (N * kh * kw, C_out)
    bin_mean = b.op('Gather', means, b.reshape(_bin_base(b, batch, kh, kw, 1, b.ints(1)),
                                               0, kh, kw), axis=0)  # (K, kh, kw, C_out)
    area = b.unsqueeze(area, -1)
    pooled = b.op('Add', b.op('Div', sums, b.op('Max', area, b.f32(1))), bin_mean)
    pooled = b.where(b.op('Greater', area, b.f32(0)), pooled, b.f32(0))
    pooled = b.op('Mul', pooled, b.unsqueeze(valid, 2, 3))
    return b.op('Transpose', pooled, perm=[0, 3, 1, 2])


def _axis_taps(b, position, size, samples, margin=1.0):
    """Bilinear taps along one axis (``bilinear_taps`` in ``ps_roi_math.h``) of the sample
    positions ``(K, A, B, C, S)`` (``S = samples``): their indices (int64) and weights (0
    outside the window ``[-margin, size - 1 + margin]``, ``margin`` 1 or 0.5) ``(K, A, B, C,
    2S)``, two per sample, and the inside mask ``(K, A, B, C, S)`` (float)."""
    last_inside = size if margin == 1 else b.op('Sub', size, b.f32(1 - margin))
    inside = b.op('And', b.op('GreaterOrEqual', position, b.f32(-margin)),
                  b.op('LessOrEqual', position, last_inside))
    p = b.where(inside, b.op('Max', position, b.f32(0)), b.f32(0))
    low = b.op('Floor', p)
    last = b.op('Sub', size, b.f32(1))
    at_end = b.op('GreaterOrEqual', low, last)
    high = b.where(at_end, last, b.op('Add', low, b.f32(1)))
    low = b.where(at_end, last, low)
    frac = b.where(at_end, b.f32(0), b.op('Sub', p, low))
    inside = b.op('Cast', inside, to=FLOAT)
    index = b.op('Cast', b.op('Max', b.stack_last(low, high), b.f32(0)), to=INT64)
    weight = b.op('Mul', b.stack_last(b.op('Sub', b.f32(1), frac), frac),
                  b.unsqueeze(inside, -1))
    # a static last size: Reshape's -1 next to a copied 0 (no RoIs) is refused
    return (b.reshape(index, 0, 0, 0, 0, 2 * samples),
            b.reshape(weight, 0, 0, 0, 0, 2 * samples), inside)


def _mxnet_positions(b, lo, hi, bins, samples, spatial_scale):
    """Deformable-ConvNets' sample coordinates ``(K, bins, S)`` along one axis (``deform_bin``
    and ``deform_sample`` of ``deform_ps_roi_math.h``, ``original``): the RoI spans
    ``round(lo) * scale - 0.5`` to ``(round(hi) + 1) * scale - 0.5``, at least 0.1 cell; sample
    ``s`` of bin ``i`` lies at ``i * bin + start + s * (bin / S)``. Also the RoI size ``(K, 1,
    1)``, which the offsets are multiples of."""
    scale, half = b.f32(spatial_scale), b.f32(0.5)
    start = b.op('Sub', b.op('Mul', b.round_half_away(lo), scale), half)
    end = b.op('Sub', b.op('Mul', b.op('Add', b.round_half_away(hi), b.f32(1)), scale), half)
    size = b.op('Max', b.op('Sub', end, start), b.f32(0.1))
    bin_size = b.exact_quotient(size, bins)
    step = b.unsqueeze(b.exact_quotient(bin_size, samples), 2)  # (K, 1, 1)
    index = b.e.constant([[[float(v)] for v in range(bins)]], FLOAT)  # (1, bins, 1)
    point = b.e.constant([[[float(v) for v in range(samples)]]], FLOAT)  # (1, 1, S)
    first = b.op('Add', b.op('Mul', index, b.unsqueeze(bin_size, 2)), b.unsqueeze(start, 2))
    return b.op('Add', first, b.op('Mul', point, step)), b.unsqueeze(size, 2)


def _float32(value):
    """``value`` rounded to float32 (from a float64 that holds the exact result or a float64
    rounding of it that is no float32 tie: division and product of small integers)."""
    return struct.unpack('f', struct.pack('f', value))[0]


def _mxnet_parts(bins, parts):
    """The part of each bin in Deformable-ConvNets' rule: ``floor(i / bins * parts)`` in
    float32 (``deform_part``), at most ``parts - 1``."""
    return [min(math.floor(_float32(_float32(i / bins) * parts)), parts - 1)
            for i in range(bins)]


def bilinear_ps_pool(emitter, input, rois, spatial_scale, kh, kw, channels, samples,
                     offset=None, groups=1, parts=None, trans_std=0.0, rule='torchvision'):
    """PS RoI Align (``offset=None``, mean over all ``samples**2`` points) and deformable PS RoI
    pooling (``offset (K, 2*groups, *parts)``, mean over the points inside the map), whose
    samples ``rule`` places: ``'torchvision'`` (PS RoI Align's) or ``'mxnet'``
    (Deformable-ConvNets'; the sum of a sample's bin start, offset and step is associated
    differently from the kernel's, to within a float32 rounding)."""
    b = _Builder(emitter)
    deform = parts is not None
    mxnet = rule == 'mxnet'
    valid, batch, x1, y1, x2, y2 = _read_rois(b, input, rois)
    height, width = b.dim(input, 2, FLOAT), b.dim(input, 3, FLOAT)
    scale, half = b.f32(spatial_scale), b.f32(0.5)

    def positions(lo, hi, bins):
        """Sample coordinates ``(K, bins, S)`` along one axis (``align_roi``/``align_sample``),
        and the bin size ``(K, 1, 1)`` (mxnet: the RoI size)."""
        if mxnet:
            return _mxnet_positions(b, lo, hi, bins, samples, spatial_scale)
        start = b.op('Sub', b.op('Mul', lo, scale), half)
        length = b.op('Sub', b.op('Sub', b.op('Mul', hi, scale), half), start)
        bin_size = b.unsqueeze(b.op('Div', length, b.f32(bins)), 2)  # (K, 1, 1)
        index = b.e.constant([[[float(v)] for v in range(bins)]], FLOAT)  # (1, bins, 1)
        point = b.e.constant([[[v + 0.5 for v in range(samples)]]], FLOAT)  # (1, 1, S)
        first = b.op('Add', b.op('Mul', index, bin_size), b.unsqueeze(start, 2))
        step = b.op('Div', b.op('Mul', point, bin_size), b.f32(samples))
        return b.op('Add', first, step), bin_size

    y, bin_h = positions(y1, y2, kh)
    x, bin_w = positions(x1, x2, kw)
    y = b.reshape(y, 0, 1, kh, 1, samples)  # (K, 1, kh, 1, S)
    x = b.reshape(x, 0, 1, 1, kw, samples)  # (K, 1, 1, kw, S)
    if deform:
        g = groups
        if g:
            # offset of each bin's part: (K, 2G, kh, kw) -> (K, G, 2, kh, kw)
            if mxnet:
                part_h, part_w = _mxnet_parts(kh, parts[0]), _mxnet_parts(kw, parts[1])
            else:
                part_h = [i * parts[0] // kh for i in range(kh)]
                part_w = [j * parts[1] // kw for j in range(kw)]
            part_h, part_w = b.e.constant(part_h, INT64), b.e.constant(part_w, INT64)
            moved = b.op('Gather', b.op('Gather', b.op('Cast', offset, to=FLOAT), part_h,
                                        axis=2), part_w, axis=3)
            moved = b.reshape(moved, 0, g, 2, kh, kw)
            std = b.f32(trans_std)

            def shift(axis, bin_size, bins):
                value = b.op('Squeeze', b.op('Slice', moved, b.ints(axis), b.ints(axis + 1),
                                             b.ints(2)), b.ints(2))  # (K, G, kh, kw)
                if mxnet:  # (offset * trans_std) * RoI size
                    moved_by = b.op('Mul', b.op('Mul', value, std), b.unsqueeze(bin_size, 3))
                    return b.unsqueeze(moved_by, -1)
                per_offset = b.op('Mul', b.op('Mul', std, bin_size), b.f32(bins))
                return b.unsqueeze(b.op('Mul', value, b.unsqueeze(per_offset, 3)), -1)

            y = b.op('Add', y, shift(1, bin_h, kh))  # (K, G, kh, kw, S)
            x = b.op('Add', x, shift(0, bin_w, kw))
        groups = max(g, 1)
    margin = 0.5 if mxnet else 1.0  # the window: [-margin, size - 1 + margin]
    # (K, G|1, kh, kw|1, 2S)
    y_index, y_weight, y_inside = _axis_taps(b, y, height, samples, margin)
    x_index, x_weight, x_inside = _axis_taps(b, x, width, samples, margin)

    # The gather's indices and weights have rank <= 6 and the taps of a bin are
    # flattened before they are weighted: the (K, G, kh, kw, S, 2, S, 2, c) broadcast of a
    # direct formulation is evaluated wrongly by OpenVINO's CPU plugin with dynamic shapes.
    taps = 4 * samples * samples
    per_group = channels // (kh * kw * groups)
    rows = _rows(b, input, channels, kh, kw, groups)
    width_i = b.dim(input, 3)
    plane = b.op('Mul', b.dim(input, 2), width_i)
    base = b.unsqueeze(_bin_base(b, batch, kh, kw, groups, plane), 4, 5)
    index = b.op('Add', b.op('Add', base, b.unsqueeze(b.op('Mul', y_index, width_i), 5)),
                 b.unsqueeze(x_index, 4))  # (K, G, kh, kw, 2S, 2S)
    weight = b.op('Mul', b.unsqueeze(y_weight, 5), b.unsqueeze(x_weight, 4))
    gathered = b.op('Gather', rows, b.reshape(index, -1, taps), axis=0)  # (B, taps, c)
    # the weighted sum of each bin's taps as a (1, taps) x (taps, c) product: onnxruntime's
    # MatMul does it about 3x faster than Mul and ReduceSum, and without a (B, taps, c) temporary
    pooled = b.op('MatMul', b.reshape(weight, -1, 1, taps), gathered)  # (B, 1, c)
    pooled = b.reshape(pooled, -1, groups, kh, kw, per_group)  # (K, G, kh, kw, c)
    if deform:
        count = b.op('Mul', b.sum(y_inside, 4), b.sum(x_inside, 4))  # (K, G|1, kh, kw)
        pooled = b.op('Div', pooled, b.unsqueeze(b.op('Max', count, b.f32(1)), -1))
    else:
        pooled = b.op('Mul', pooled, b.f32(1.0 / (samples * samples)))
    pooled = b.op('Mul', pooled, b.unsqueeze(valid, 2, 3, 4))
    pooled = b.op('Transpose', pooled, perm=[0, 1, 4, 2, 3])  # (K, G, C_out / G, kh, kw)
    return b.reshape(pooled, 0, channels // (kh * kw), kh, kw)

