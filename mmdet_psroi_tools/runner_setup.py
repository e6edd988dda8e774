"""What tools/train.py and tools/test.py share: mmdet's common arguments and config loading, and
the runner, CPU-only distributed runs (``--launcher pytorch``, gloo) included."""
import os
import os.path as osp
from contextlib import contextmanager

import torch
import torch.distributed as dist

from .arguments import existing_file


def add_common_arguments(parser):
    from mmengine.config import DictAction

    parser.add_argument('config', type=existing_file, help='config file path')
    parser.add_argument('--work-dir', help='the dir to save logs, models and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config: key=value pairs')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args):
    """The config of ``args.config`` with the common arguments applied."""
    from mmengine.config import Config

    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def prepare_cpu_distributed(cfg):
    """For ``cfg.launcher == 'pytorch'`` without CUDA, where mmengine 0.10's launcher calls
    ``torch.cuda.set_device`` and wraps the model in DDP with device ids: init a gloo group from
    torchrun's environment first and wrap without device ids. Returns True if it did."""
    if cfg.get('launcher') != 'pytorch' or torch.cuda.is_available():
        return False
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    return True


@contextmanager
def process_group_closed_at_exit():
    """Runs the block, then destroys the default process group (left to it, gloo's threads can
    abort a process that succeeded): after a barrier if the block succeeded; at once if it
    raised (the other ranks may never get to a barrier)."""
    try:
        yield
        if dist.is_available() and dist.is_initialized():
            dist.barrier()
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


@contextmanager
def built_runner(cfg):
    """Checks the config, prepares CPU distributed runs and yields mmengine's runner; the
    process group is closed when the block ends (``process_group_closed_at_exit``)."""
    from mmdet.utils import setup_cache_size_limit_of_dynamo
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from .config_checks import check_config

    with process_group_closed_at_exit():
        check_config(cfg)
        setup_cache_size_limit_of_dynamo()
        prepare_cpu_distributed(cfg)
        yield Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
