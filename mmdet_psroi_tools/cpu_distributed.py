"""CPU-only distributed runs (``--launcher pytorch`` with gloo) under mmengine 0.10, whose
launcher calls ``torch.cuda.set_device`` and wraps the model in DDP with device ids: without a
GPU the tools create the gloo group first and wrap without device ids. Every run closes its
process group before shutdown (left to it, gloo's threads can abort a process that succeeded).
"""
from contextlib import contextmanager

import torch
import torch.distributed as dist


def prepare_cpu_distributed(cfg):
    """For ``cfg.launcher == 'pytorch'`` without CUDA: init a gloo group from torchrun's
    environment and make the runner's DDP wrapper CPU-friendly. Returns True if it did."""
    if cfg.get('launcher') != 'pytorch' or torch.cuda.is_available():
        return False
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    return True


def _initialized():
    return dist.is_available() and dist.is_initialized()


@contextmanager
def process_group_closed_at_exit():
    """Runs the block, then destroys the default process group (the tools' or mmengine's
    launcher's), whether the block raised or not; after a block that succeeded, only once every
    rank has got there (a barrier, so that no rank tears its group down while another still
    talks to it; a rank that raised does not wait for the others, which could hang)."""
    try:
        yield
        if _initialized():
            dist.barrier()
    finally:
        if _initialized():
            dist.destroy_process_group()
