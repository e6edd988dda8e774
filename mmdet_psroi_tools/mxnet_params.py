"""Reading MXNet's ``.params`` files (``mx.nd.save`` / ``mx.model.save_checkpoint``) with numpy
only.

The format (MXNet ``src/ndarray/ndarray.cc``: ``NDArray::Save``/``Load``, ``MXNDArraySave``;
all integers little-endian):

- ``uint64`` magic ``0x112`` (``kMXAPINDArrayListMagic``), ``uint64`` reserved (0);
- ``uint64`` count, then ``count`` arrays, each:

  - ``uint32`` array magic: ``0xF993FAC9`` (V2, MXNet >= 0.11) or ``0xF993FACA`` (V3, numpy
    shape semantics), each followed by ``int32`` storage type (0: dense; sparse arrays are
    refused); ``0xF993FAC8`` (V1), no storage type; any other value is the ``ndim`` of the
    oldest (legacy) layout;
  - the shape: ``uint32`` ndim then ndim ``int64`` dims (V1, V2, V3: ``int32`` ndim), or ndim
    ``uint32`` dims (legacy, whose ndim was the magic itself); ndim 0 is an empty array and ends
    the record (V3: ndim -1 is empty, 0 a scalar);
  - the context: ``int32`` device type, ``int32`` device id (ignored: loaded on the CPU);
  - ``int32`` dtype flag (0 float32, 1 float64, 2 float16, 3 uint8, 4 int32, 5 int8,
    6 int64);
  - the data, C order.

- ``uint64`` count of names, then each name: ``uint64`` length and its bytes. A checkpoint
  names its arrays ``arg:<name>`` (learned weights) and ``aux:<name>`` (auxiliary states:
  BatchNorm's ``moving_mean``/``moving_var``).
"""
import struct
from collections import OrderedDict

import numpy as np

LIST_MAGIC = 0x112
ARRAY_MAGIC_V1 = 0xF993FAC8
ARRAY_MAGIC_V2 = 0xF993FAC9
ARRAY_MAGIC_V3 = 0xF993FACA
DTYPES = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint8, 4: np.int32, 5: np.int8,
          6: np.int64}


class MXNetParamsError(ValueError):
    """A file that is not (or not entirely) an MXNet ``.params`` file."""


class _Reader:
    """Reads little-endian values from ``data``, naming ``path`` and what was being read in
    every error."""

    def __init__(self, data, path):
        self.data, self.path, self.offset = data, path, 0

    def read(self, count, what):
        end = self.offset + count
        if count < 0 or end > len(self.data):
            raise MXNetParamsError(
                f'{self.path}: truncated MXNet .params file: {what} needs {count} bytes at '
                f'offset {self.offset} but the file has {len(self.data)} bytes')
        chunk = self.data[self.offset:end]
        self.offset = end
        return chunk

    def unpack(self, fmt, what):
        return struct.unpack('<' + fmt, self.read(struct.calcsize('<' + fmt), what))

    def array(self, index):
        what = f'array {index}'
        (magic, ) = self.unpack('I', what + ' header')
        if magic in (ARRAY_MAGIC_V2, ARRAY_MAGIC_V3):
            (stype, ) = self.unpack('i', what + ' storage type')
            if stype != 0:
                raise MXNetParamsError(f'{self.path}: {what} is a sparse array (storage type '
                                       f'{stype}); only dense arrays are supported')
        if magic in (ARRAY_MAGIC_V1, ARRAY_MAGIC_V2, ARRAY_MAGIC_V3):
            (ndim, ) = self.unpack('i', what + ' ndim')
            # V3 (numpy semantics): ndim -1 is an empty array, 0 a scalar; before it 0 is empty
            if ndim < 0 or (ndim == 0 and magic != ARRAY_MAGIC_V3):
                return np.zeros((0, ), np.float32)
            shape = self.unpack(f'{ndim}q', what + ' shape')
        else:  # legacy: the magic is ndim, the dims are uint32
            ndim = magic
            if ndim > 32:
                raise MXNetParamsError(f'{self.path}: {what} starts with {magic:#x}, neither '
                                       'an MXNet array magic nor a plausible ndim')
            if ndim == 0:
                return np.zeros((0, ), np.float32)
            shape = self.unpack(f'{ndim}I', what + ' shape')
        if any(dim < 0 for dim in shape):
            raise MXNetParamsError(f'{self.path}: {what} has the shape {shape}')
        self.unpack('ii', what + ' context')
        (flag, ) = self.unpack('i', what + ' dtype')
        if flag not in DTYPES:
            raise MXNetParamsError(f'{self.path}: {what} has the unknown dtype flag {flag}')
        dtype = np.dtype(DTYPES[flag]).newbyteorder('<')
        size = int(np.prod(shape)) * dtype.itemsize
        return np.frombuffer(self.read(size, what + ' data'), dtype).reshape(shape).copy()


def load_params(path):
    """``path`` -> ``OrderedDict`` name (as saved, e.g. ``arg:conv1_weight``) -> numpy array,
    in file order.

    Raises:
        MXNetParamsError: a file that is not an MXNet NDArray list, is truncated, has trailing
            bytes, sparse arrays, or a name count that differs from the array count.
    """
    with open(path, 'rb') as f:
        reader = _Reader(f.read(), path)
    magic, _ = reader.unpack('QQ', 'the file header')
    if magic != LIST_MAGIC:
        raise MXNetParamsError(f'{path}: not an MXNet .params file (it starts with {magic:#x}, '
                               f'expected the NDArray list magic {LIST_MAGIC:#x})')
    (count, ) = reader.unpack('Q', 'the array count')
    arrays = [reader.array(index) for index in range(count)]
    (name_count, ) = reader.unpack('Q', 'the name count')
    if name_count != count:
        raise MXNetParamsError(f'{path}: {count} arrays but {name_count} names')
    names = []
    for index in range(name_count):
        (length, ) = reader.unpack('Q', f'the length of name {index}')
        names.append(reader.read(length, f'name {index}').decode('utf-8', errors='replace'))
    if reader.offset != len(reader.data):
        raise MXNetParamsError(f'{path}: {len(reader.data) - reader.offset} bytes after the last '
                               'name; not a single MXNet .params file')
    if len(set(names)) != len(names):
        raise MXNetParamsError(f'{path}: repeated array names')
    return OrderedDict(zip(names, arrays))
