"""Reading MXNet's ``.params`` files (``mx.nd.save`` / ``mx.model.save_checkpoint``) with numpy
only; the format (MXNet's ``NDArray::Save``/``Load``): docs/pretrained_models.md."""
import struct
from collections import OrderedDict

import numpy as np

LIST_MAGIC = 0x112
ARRAY_MAGIC_V1, ARRAY_MAGIC_V2, ARRAY_MAGIC_V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
DTYPES = {0: '<f4', 1: '<f8', 2: '<f2', 3: 'u1', 4: '<i4', 5: 'i1', 6: '<i8'}  # little-endian


class MXNetParamsError(ValueError):
    """A file that is not (or not entirely) an MXNet ``.params`` file."""


class _Reader:
    """Reads little-endian values from ``data``; every error names ``path`` and the value."""

    def __init__(self, data, path):
        self.data, self.path, self.offset = data, path, 0

    def read(self, count, what):
        end = self.offset + count
        if count < 0 or end > len(self.data):
            raise MXNetParamsError(
                f'{self.path}: truncated MXNet .params file: {what} needs {count} bytes at '
                f'offset {self.offset} but the file has {len(self.data)} bytes')
        self.offset = end
        return self.data[end - count:end]

    def unpack(self, fmt, what):
        """One value for a one-letter ``fmt``, else a tuple."""
        values = struct.unpack('<' + fmt, self.read(struct.calcsize('<' + fmt), what))
        return values[0] if len(fmt) == 1 else values

    def array(self, index):
        what = f'array {index}'
        magic = self.unpack('I', what + ' header')
        if magic in (ARRAY_MAGIC_V2, ARRAY_MAGIC_V3):
            stype = self.unpack('i', what + ' storage type')
            if stype != 0:
                raise MXNetParamsError(f'{self.path}: {what} is a sparse array (storage type '
                                       f'{stype}); only dense arrays are supported')
        if magic in (ARRAY_MAGIC_V1, ARRAY_MAGIC_V2, ARRAY_MAGIC_V3):
            ndim, dim_format = self.unpack('i', what + ' ndim'), 'q'
            # V3 (numpy semantics): ndim -1 is an empty array, 0 a scalar; before it 0 is empty
            empty = ndim < 0 or (ndim == 0 and magic != ARRAY_MAGIC_V3)
        elif magic > 32:
            raise MXNetParamsError(f'{self.path}: {what} starts with {magic:#x}, neither '
                                   'an MXNet array magic nor a plausible ndim')
        else:  # legacy: the magic is ndim, the dims are uint32
            ndim, dim_format, empty = magic, 'I', magic == 0
        if empty:
            return np.zeros((0, ), np.float32)
        shape = self.unpack(f'{ndim}{dim_format}', what + ' shape')  # a tuple, even of one
        if any(dim < 0 for dim in shape):
            raise MXNetParamsError(f'{self.path}: {what} has the shape {shape}')
        _, _, flag = self.unpack('iii', what + ' context and dtype')
        if flag not in DTYPES:
            raise MXNetParamsError(f'{self.path}: {what} has the unknown dtype flag {flag}')
        size = int(np.prod(shape)) * np.dtype(DTYPES[flag]).itemsize
        return np.frombuffer(self.read(size, what + ' data'), DTYPES[flag]).reshape(shape).copy()


def load_params(path):
    """``path`` -> ``OrderedDict`` name (as saved, e.g. ``arg:conv1_weight``) -> numpy array,
    in file order. Raises MXNetParamsError for a file that is not one complete NDArray list
    (truncated, trailing bytes, sparse arrays, as many names as arrays)."""
    with open(path, 'rb') as f:
        reader = _Reader(f.read(), path)
    magic, _ = reader.unpack('QQ', 'the file header')
    if magic != LIST_MAGIC:
        raise MXNetParamsError(f'{path}: not an MXNet .params file (it starts with {magic:#x}, '
                               f'expected the NDArray list magic {LIST_MAGIC:#x})')
    arrays = [reader.array(index) for index in range(reader.unpack('Q', 'the array count'))]
    name_count = reader.unpack('Q', 'the name count')
    if name_count != len(arrays):
        raise MXNetParamsError(f'{path}: {len(arrays)} arrays but {name_count} names')
    names = []
    for index in range(name_count):
        length = reader.unpack('Q', f'the length of name {index}')
        names.append(reader.read(length, f'name {index}').decode('utf-8', errors='replace'))
    if reader.offset != len(reader.data):
        raise MXNetParamsError(f'{path}: {len(reader.data) - reader.offset} bytes after the last '
                               'name; not a single MXNet .params file')
    if len(set(names)) != len(names):
        raise MXNetParamsError(f'{path}: repeated array names')
    return OrderedDict(zip(names, arrays))
