"""The plugin lets ``torch.load`` read what mmengine's runner saves, on every torch it supports:
where loading is weights-only by default (torch >= 2.6) through an allowlist, and on older
torch without touching anything global. Each fallback runs for real where this torch has it and
is simulated (a stand-in for ``torch.serialization``, or the allowlist cleared and rebuilt in a
fresh process) where it has not."""
import pickle
import subprocess
import sys
from types import SimpleNamespace
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import pytest
import torch

pytest.importorskip('mmengine')

from mmengine.logging import HistoryBuffer, MessageHub  # noqa: E402

from mmdet_psroi.utils.checkpoint import (  # noqa: E402
    allow_mmengine_checkpoints,
    history_buffer_method,
    loads_weights_only_by_default,
    takes_named_globals,
)

HAS_SAFE_GLOBALS = hasattr(torch.serialization, 'clear_safe_globals')
WEIGHTS_ONLY_DEFAULT = loads_weights_only_by_default()

# Loads a runner-like checkpoint in a fresh process (no HistoryBuffer made yet, as in
# tools/test.py and --resume) and prints what came back.
LOAD_AND_PRINT = (
    'buffer = ckpt["message_hub"]["log_scalars"]["train/loss"]\n'
    'print(type(buffer).__name__, buffer.current(), buffer.min(), int(ckpt["meta"]["seed"]),\n'
    '      ckpt["state_dict"]["w"].tolist())\n')
LOADED = ['HistoryBuffer', '0.25', '0.25', '7', '[1.0,', '1.0]']


def _save_runner_like_checkpoint(path):
    """Write a checkpoint with the metadata types mmengine's CheckpointHook writes."""
    hub = MessageHub.get_instance('test_checkpoint')
    hub.update_scalar('train/loss', 0.5)
    hub.update_scalar('train/loss', np.float64(0.25))
    hub.update_info('iter', 3)
    torch.save({
        'meta': {'epoch': 1, 'iter': 3, 'seed': np.int64(7),
                 'dataset_meta': {'classes': ('tree',)}},
        'state_dict': {'w': torch.ones(2)},
        'message_hub': hub.state_dict(),
    }, path)
    return str(path)


def _python(code, *args):
    return subprocess.run([sys.executable, '-c', code, *args], capture_output=True, text=True)


@pytest.fixture
def checkpoint(tmp_path):
    return _save_runner_like_checkpoint(tmp_path / 'ckpt.pth')


def test_runner_checkpoint_loads_and_the_op_runs_after_import(checkpoint):
    """What a user of this torch gets: default torch.load, weights-only where that is the
    default; forward and backward of the op."""
    result = _python(
        'import sys, torch\n'
        'import mmdet_psroi.plugin  # applies the allowlist where it is needed\n'
        'from mmdet_psroi.ops import PSRoIAlign\n'
        'feats = torch.rand(1, 3 * 2 * 2, 6, 6, requires_grad=True)\n'
        'out = PSRoIAlign(2, 1.0, sampling_ratio=2)(feats, torch.tensor([[0., 0., 0., 5., 5.]]))\n'
        'out.sum().backward()\n'
        'assert out.shape == (1, 3, 2, 2) and feats.grad.abs().sum() > 0\n'
        'ckpt = torch.load(sys.argv[1])\n' + LOAD_AND_PRINT, checkpoint)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == LOADED


def test_without_the_plugin_weights_only_load_fails(checkpoint):
    """Proves the allowlist is what makes weights-only loading work (a non-vacuous test)."""
    code = ('import torch, sys\n'
            'try:\n'
            '    torch.load(sys.argv[1], weights_only=True)\n'
            'except Exception as error:\n'
            '    refused = "weights_only" in str(error) or "Unpickl" in type(error).__name__\n'
            '    sys.exit(3 if refused else 4)\n')
    result = _python(code, checkpoint)
    assert result.returncode == 3, result.stderr


class NotAllowed:
    """A type no allowlist names."""


def test_weights_only_stays_on_for_unknown_types(tmp_path):
    import mmdet_psroi.plugin  # noqa: F401

    path = tmp_path / 'evil.pth'
    torch.save({'x': NotAllowed()}, path)
    with pytest.raises(Exception, match='(?i)weights.only|Unsupported (global|class)'):
        torch.load(path, weights_only=True)


def test_getattr_stand_in_refuses_other_attributes():
    assert history_buffer_method(HistoryBuffer, 'mean') is HistoryBuffer.mean
    assert history_buffer_method(HistoryBuffer, 'min') is HistoryBuffer.min
    with pytest.raises(pickle.UnpicklingError, match='only the statistics methods'):
        history_buffer_method(HistoryBuffer, '__init__')
    with pytest.raises(pickle.UnpicklingError, match='only the statistics methods'):
        history_buffer_method(object, '__subclasses__')


@pytest.mark.parametrize('version, expected', [
    ('2.1.2', False), ('2.5.1', False), ('2.6.0', True), ('2.13.0+cpu', True), ('2.15.0', True)])
def test_weights_only_default_by_torch_version(version, expected):
    assert loads_weights_only_by_default(version) is expected


class RecordingSerialization:
    """Stands in for torch.serialization; its add_safe_globals has the given signature."""

    def __init__(self, named_pairs):
        self.calls = []

        def with_pairs(safe_globals: List[Union[Callable, Tuple[Callable, str]]]) -> None:
            self.calls.append(safe_globals)

        def without_pairs(safe_globals: List[Any]) -> None:
            self.calls.append(safe_globals)

        self.add_safe_globals = with_pairs if named_pairs else without_pairs


@pytest.mark.parametrize('version', ['2.4.1', '2.5.1'])
def test_torch_without_weights_only_default_is_not_touched(version):
    serialization = RecordingSerialization(named_pairs=True)
    assert allow_mmengine_checkpoints(serialization, version) is False
    assert serialization.calls == []


def test_torch_without_add_safe_globals_is_not_touched():
    """torch 2.1 to 2.3: no add_safe_globals at all; importing must not fail."""
    assert allow_mmengine_checkpoints(SimpleNamespace(), '2.3.1') is False
    assert allow_mmengine_checkpoints(SimpleNamespace(), '2.6.0') is False


@pytest.mark.skipif(WEIGHTS_ONLY_DEFAULT,
                    reason=f'torch {torch.__version__} loads weights-only by default: the '
                           'allowlist is registered here (the simulated case runs instead)')
def test_import_touches_no_global_state_on_this_torch():
    result = _python(
        'import torch\n'
        'get = getattr(torch.serialization, "get_safe_globals", lambda: [])\n'
        'before = list(get())\n'
        'import mmdet_psroi.plugin  # noqa: F401\n'
        'print(before == list(get()))\n')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'True'


@pytest.mark.parametrize('named_pairs', [True, False])
def test_registered_entries_by_add_safe_globals_signature(named_pairs):
    serialization = RecordingSerialization(named_pairs)
    assert allow_mmengine_checkpoints(serialization, '2.6.0') is True
    (registered, ) = serialization.calls
    getattr_entry = registered[1]
    if named_pairs:
        assert getattr_entry == (history_buffer_method, 'builtins.getattr')
    else:
        assert (getattr_entry.__module__, getattr_entry.__qualname__) == ('builtins', 'getattr')
        assert getattr_entry(HistoryBuffer, 'max') is HistoryBuffer.max
        with pytest.raises(pickle.UnpicklingError, match='only the statistics methods'):
            getattr_entry(object, '__subclasses__')
    assert HistoryBuffer in registered


def test_takes_named_globals_reads_the_signature():
    assert takes_named_globals(RecordingSerialization(True).add_safe_globals)
    assert not takes_named_globals(RecordingSerialization(False).add_safe_globals)
    assert not takes_named_globals(len)  # no keyword 'safe_globals'


@pytest.mark.skipif(not HAS_SAFE_GLOBALS,
                    reason=f'torch {torch.__version__} has no add_safe_globals: it loads '
                           'mmengine checkpoints with weights_only=False by default, and the '
                           'plugin registers nothing')
@pytest.mark.parametrize('named_pairs', [True, False])
def test_each_allowlist_form_loads_checkpoints_weights_only(checkpoint, named_pairs):
    """Real weights-only loads with the (global, name) pairs of newer torch and with the
    self-named stand-in used where add_safe_globals takes no pairs."""
    if named_pairs and not takes_named_globals(torch.serialization.add_safe_globals):
        pytest.skip(f'torch {torch.__version__} takes no (global, name) pairs')
    result = _python(
        'import sys, torch\n'
        'from mmdet_psroi.utils.checkpoint import mmengine_checkpoint_globals\n'
        'torch.serialization.clear_safe_globals()  # undo what the import registered\n'
        f'torch.serialization.add_safe_globals(mmengine_checkpoint_globals({named_pairs}))\n'
        'ckpt = torch.load(sys.argv[1], weights_only=True)\n' + LOAD_AND_PRINT, checkpoint)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == LOADED

