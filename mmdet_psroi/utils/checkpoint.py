"""Let ``torch.load(weights_only=True)`` read the checkpoints that mmengine writes.

mmengine 0.10.x calls ``torch.load`` without ``weights_only``; since torch 2.6 that means
``weights_only=True``, and a checkpoint saved by mmengine's own runner (``--resume``,
``tools/test.py CKPT``) fails with ``UnpicklingError``: its ``meta`` and ``message_hub``
state hold a few non-tensor types. Rather than switching weights-only loading off, this
allowlists exactly those types with ``torch.serialization.add_safe_globals``:

- numpy arrays, scalars and dtypes (logged scalars, seeds);
- ``mmengine.logging.HistoryBuffer``, whose pickled state refers to its own statistics
  methods through ``getattr(HistoryBuffer, 'mean')``. The builtin ``getattr`` is *not*
  allowlisted: the name ``builtins.getattr`` is bound to :func:`history_buffer_method`, which
  resolves only those methods and refuses everything else.
"""
import pickle

import numpy as np
import torch

# HistoryBuffer's own statistics; it registers them lazily, on its first instance.
_BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')
_NUMPY_DTYPE_CLASSES = ('Float64DType', 'Float32DType', 'Float16DType', 'Int64DType',
                        'Int32DType', 'UInt8DType', 'BoolDType')


def _numpy_globals():
    """The numpy callables and classes that pickled arrays and scalars refer to."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    found = [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype]
    dtypes = getattr(np, 'dtypes', None)
    found += [getattr(dtypes, name) for name in _NUMPY_DTYPE_CLASSES if hasattr(dtypes, name)]
    return found


def history_buffer_method(owner, name):
    """Stand-in for ``getattr`` while unpickling: only ``HistoryBuffer``'s statistics methods.

    Raises:
        pickle.UnpicklingError: for any other object or attribute.
    """
    from mmengine.logging import HistoryBuffer

    allowed = set(_BUILTIN_STATISTICS) | set(HistoryBuffer._statistics_methods)
    if owner is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'weights-only load refuses getattr({owner!r}, {name!r}): only the statistics methods '
        'of mmengine.logging.HistoryBuffer are allowed')


def mmengine_checkpoint_globals():
    """The globals found in checkpoints saved by mmengine's ``CheckpointHook``."""
    from mmengine.logging import HistoryBuffer

    return [HistoryBuffer, (history_buffer_method, 'builtins.getattr')] + _numpy_globals()


def allow_mmengine_checkpoints():
    """Allowlist mmengine's checkpoint metadata for weights-only ``torch.load``.

    A no-op on torch versions without ``torch.serialization.add_safe_globals``.
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:
        add_safe_globals(mmengine_checkpoint_globals())
