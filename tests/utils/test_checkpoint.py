"""The plugin lets weights-only ``torch.load`` read what mmengine's runner saves."""
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip('mmengine')

from mmengine.logging import HistoryBuffer, MessageHub  # noqa: E402


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


def test_mmengine_checkpoint_loads_weights_only_after_import(tmp_path):
    """In a fresh process, as tools/test.py and --resume do (no HistoryBuffer made yet)."""
    path = tmp_path / 'ckpt.pth'
    _save_runner_like_checkpoint(path)
    code = ('import sys, torch\n'
            'import mmdet_psroi  # applies the allowlist\n'
            'ckpt = torch.load(sys.argv[1], weights_only=True)\n'
            'buffer = ckpt["message_hub"]["log_scalars"]["train/loss"]\n'
            'print(type(buffer).__name__, buffer.current(), buffer.min(),\n'
            '      int(ckpt["meta"]["seed"]),\n'
            '      ckpt["state_dict"]["w"].tolist())\n')
    result = subprocess.run([sys.executable, '-c', code, str(path)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['HistoryBuffer', '0.25', '0.25', '7', '[1.0,', '1.0]']


def test_without_the_plugin_weights_only_load_fails(tmp_path):
    """Proves the allowlist is what makes loading work (guards against a vacuous test)."""
    path = tmp_path / 'ckpt.pth'
    _save_runner_like_checkpoint(path)
    code = ('import torch, sys\n'
            'try:\n'
            f'    torch.load({str(path)!r}, weights_only=True)\n'
            'except Exception as error:\n'
            '    refused = "weights_only" in str(error) or "Unpickl" in type(error).__name__\n'
            '    sys.exit(3 if refused else 4)\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 3, result.stderr


class NotAllowed:
    """A type no allowlist names."""


def test_weights_only_stays_on_for_unknown_types(tmp_path):
    import mmdet_psroi  # noqa: F401

    path = tmp_path / 'evil.pth'
    torch.save({'x': NotAllowed()}, path)
    with pytest.raises(Exception, match='weights_only|Unsupported global'):
        torch.load(path)


def test_getattr_stand_in_refuses_other_attributes():
    from mmdet_psroi.utils.checkpoint import history_buffer_method

    assert history_buffer_method(HistoryBuffer, 'mean') is HistoryBuffer.mean
    assert history_buffer_method(HistoryBuffer, 'min') is HistoryBuffer.min
    with pytest.raises(pickle.UnpicklingError, match='only the statistics methods'):
        history_buffer_method(HistoryBuffer, '__init__')
    with pytest.raises(pickle.UnpicklingError, match='only the statistics methods'):
        history_buffer_method(object, '__subclasses__')
