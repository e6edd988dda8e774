"""The MXNet .params reader: every array record version MXNet has written (legacy, V1, V2, V3),
and clear errors for files that are not one complete NDArray list."""
import struct

import numpy as np
import pytest

from mmdet_psroi_tools.mxnet_params import MXNetParamsError, load_params

CONTEXT_AND_FLOAT32 = struct.pack('<iii', 1, 0, 0)


def shape_v1(array):  # V1, V2, V3: ndim then int64 dims
    return struct.pack(f'<I{array.ndim}q', array.ndim, *array.shape)


RECORDS = {
    'legacy': lambda a: struct.pack(f'<I{a.ndim}I', a.ndim, *a.shape),
    'v1': lambda a: struct.pack('<I', 0xF993FAC8) + shape_v1(a),
    'v2': lambda a: struct.pack('<Ii', 0xF993FAC9, 0) + shape_v1(a),
    'v3': lambda a: struct.pack('<Ii', 0xF993FACA, 0) + shape_v1(a),
}


def params_bytes(arrays, record, names=None):
    data = struct.pack('<QQQ', 0x112, 0, len(arrays))
    for array in arrays.values():
        data += record(array) + CONTEXT_AND_FLOAT32 + array.astype('<f4').tobytes()
    names = list(arrays) if names is None else names
    data += struct.pack('<Q', len(names))
    for name in names:
        data += struct.pack('<Q', len(name)) + name.encode()
    return data


ARRAYS = {'arg:conv1_weight': np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2),
          'aux:bn_conv1_moving_var': np.array([0.5, 2.0], np.float32)}


@pytest.mark.parametrize('version', sorted(RECORDS))
def test_every_record_version_reads_back(version, tmp_path):
    path = tmp_path / 'm.params'
    path.write_bytes(params_bytes(ARRAYS, RECORDS[version]))
    loaded = load_params(path)
    assert list(loaded) == list(ARRAYS)
    for name, array in ARRAYS.items():
        assert loaded[name].dtype == np.float32 and np.array_equal(loaded[name], array)


@pytest.mark.parametrize('cut, what', [(20, 'array count'), (60, 'array 0'),
                                       (-3, 'name 1')])
def test_truncated_file_names_what_is_missing(cut, what, tmp_path):
    path = tmp_path / 'm.params'
    path.write_bytes(params_bytes(ARRAYS, RECORDS['v2'])[:cut])
    with pytest.raises(MXNetParamsError, match=f'{path}: truncated .*{what}'):
        load_params(path)


def test_other_files_and_inconsistent_lists_are_refused(tmp_path):
    path = tmp_path / 'm.params'
    path.write_bytes(b'PK\x03\x04' + bytes(40))  # a zip (torch.save) file
    with pytest.raises(MXNetParamsError, match='not an MXNet .params file'):
        load_params(path)
    path.write_bytes(params_bytes(ARRAYS, RECORDS['v2'], names=['arg:a']))
    with pytest.raises(MXNetParamsError, match='2 arrays but 1 names'):
        load_params(path)
    path.write_bytes(params_bytes(ARRAYS, RECORDS['v2']) + b'\x00')
    with pytest.raises(MXNetParamsError, match='1 bytes after the last name'):
        load_params(path)
    sparse = params_bytes(ARRAYS, lambda a: struct.pack('<Ii', 0xF993FAC9, 1) + shape_v1(a))
    path.write_bytes(sparse)
    with pytest.raises(MXNetParamsError, match='sparse'):
        load_params(path)
