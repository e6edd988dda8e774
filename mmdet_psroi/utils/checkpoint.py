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

Only where ``torch.load`` loads weights-only by default (torch >= 2.6) is anything registered;
on older torch nothing global is touched. Where ``add_safe_globals`` does not take
``(global, "module.name")`` pairs, the stand-in is registered under the name
``builtins.getattr`` itself (torch keys its allowlist by ``__module__`` and ``__qualname__``).
"""
import functools
import inspect
import pickle

import torch
from packaging.version import Version

# The first torch whose torch.load defaults to weights_only=True.
WEIGHTS_ONLY_DEFAULT_SINCE = Version('2.6')

# HistoryBuffer's own statistics; it registers them lazily, on its first instance.
_BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')
_NUMPY_DTYPE_CLASSES = ('Float64DType', 'Float32DType', 'Float16DType', 'Int64DType',
                        'Int32DType', 'UInt8DType', 'BoolDType')


def _numpy_globals():
    """The numpy callables and classes that pickled arrays and scalars refer to."""
    import numpy as np

    # numpy 2 moved it to numpy._core (numpy 1.26 has a numpy._core without it).
    numpy_2 = int(np.__version__.split('.')[0]) >= 2
    multiarray = np._core.multiarray if numpy_2 else np.core.multiarray
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


def _named_getattr():
    """:func:`history_buffer_method` under the name ``builtins.getattr``."""

    @functools.wraps(history_buffer_method)
    def getattr_stand_in(owner, name):
        return history_buffer_method(owner, name)

    getattr_stand_in.__module__ = 'builtins'
    getattr_stand_in.__name__ = getattr_stand_in.__qualname__ = 'getattr'
    return getattr_stand_in


def takes_named_globals(add_safe_globals):
    """Whether ``add_safe_globals`` accepts ``(global, "module.name")`` pairs (its signature
    says so from the torch version that added them on)."""
    try:
        annotation = inspect.signature(add_safe_globals).parameters['safe_globals'].annotation
    except (KeyError, TypeError, ValueError):
        return False
    return 'tuple' in str(annotation).lower()


def mmengine_checkpoint_globals(named_pairs=True):
    """The globals found in checkpoints saved by mmengine's ``CheckpointHook``.

    Args:
        named_pairs (bool): give the getattr stand-in as a ``(function, "builtins.getattr")``
            pair; otherwise as a function that carries that name itself.
    """
    from mmengine.logging import HistoryBuffer

    getattr_entry = ((history_buffer_method, 'builtins.getattr') if named_pairs
                     else _named_getattr())
    return [HistoryBuffer, getattr_entry] + _numpy_globals()


def loads_weights_only_by_default(torch_version=torch.__version__):
    """Whether ``torch.load`` without ``weights_only`` loads weights-only (torch >= 2.6)."""
    return Version(Version(torch_version).base_version) >= WEIGHTS_ONLY_DEFAULT_SINCE


def allow_mmengine_checkpoints(serialization=torch.serialization, torch_version=torch.__version__):
    """Allowlist mmengine's checkpoint metadata for weights-only ``torch.load``, where that is
    the default.

    Args:
        serialization: the module that holds ``add_safe_globals`` (``torch.serialization``).
        torch_version (str): the torch version whose ``torch.load`` default decides.

    Returns:
        bool: whether anything was registered (False on torch < 2.6: nothing is touched).
    """
    add_safe_globals = getattr(serialization, 'add_safe_globals', None)
    if add_safe_globals is None or not loads_weights_only_by_default(torch_version):
        return False
    add_safe_globals(mmengine_checkpoint_globals(takes_named_globals(add_safe_globals)))
    return True
