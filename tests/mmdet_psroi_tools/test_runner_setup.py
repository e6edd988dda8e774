"""The tools' CPU process-group handling: gloo set-up without a GPU, and the group closed when
the run ends, whether it succeeded or raised."""
import pytest
import torch.distributed as dist
from mmengine.config import Config

from mmdet_psroi_tools.runner_setup import prepare_cpu_distributed, process_group_closed_at_exit


@pytest.fixture
def single_process_env(monkeypatch, tmp_path):
    """torchrun's environment for a world of one process (a file store: no port to pick)."""
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setattr(dist, 'init_process_group', _file_store_init(tmp_path / 'store'))
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def _file_store_init(path):
    real_init = dist.init_process_group

    def init(backend):
        real_init(backend=backend, init_method=f'file://{path}', rank=0, world_size=1)
    return init


def test_pytorch_launcher_gets_gloo_and_a_cpu_ddp_wrapper(single_process_env):
    cfg = Config(dict(launcher='pytorch'))
    with process_group_closed_at_exit():
        assert prepare_cpu_distributed(cfg)
        assert dist.get_backend() == 'gloo'
        assert cfg.model_wrapper_cfg.device_ids is None
    assert not dist.is_initialized()


def test_no_launcher_leaves_distributed_alone():
    cfg = Config(dict(launcher='none'))
    with process_group_closed_at_exit():
        assert not prepare_cpu_distributed(cfg)
        assert not dist.is_initialized()
    assert 'model_wrapper_cfg' not in cfg


def test_group_closed_when_the_run_raises(single_process_env):
    with pytest.raises(RuntimeError, match='training failed'):
        with process_group_closed_at_exit():
            prepare_cpu_distributed(Config(dict(launcher='pytorch')))
            assert dist.is_initialized()
            raise RuntimeError('training failed')
    assert not dist.is_initialized()


def test_a_run_that_succeeded_meets_the_other_ranks_before_closing(single_process_env,
                                                                    monkeypatch):
    calls = []
    monkeypatch.setattr(dist, 'barrier', lambda: calls.append('barrier'))
    real_destroy = dist.destroy_process_group
    monkeypatch.setattr(dist, 'destroy_process_group',
                        lambda: (calls.append('destroy'), real_destroy()))
    with process_group_closed_at_exit():
        prepare_cpu_distributed(Config(dict(launcher='pytorch')))
    assert calls == ['barrier', 'destroy']
    calls.clear()
    with pytest.raises(RuntimeError):
        with process_group_closed_at_exit():
            prepare_cpu_distributed(Config(dict(launcher='pytorch')))
            raise RuntimeError('rank failed')
    assert calls == ['destroy']  # no barrier: the other ranks may never get there
