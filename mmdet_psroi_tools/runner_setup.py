"""What tools/train.py and tools/test.py share: the arguments common to mmdet's two tools, the
config loaded as they load it, and the runner (CPU distributed runs included)."""
import os
import os.path as osp

from .arguments import existing_file


def add_common_arguments(parser):
    """``config``, ``--work-dir``, ``--cfg-options``, ``--launcher``, ``--local_rank``."""
    from mmengine.config import DictAction

    parser.add_argument('config', type=existing_file, help='config file path')
    parser.add_argument('--work-dir', help='the dir to save logs, models and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override some settings in the used config, the key-value pair '
                             'in xxx=yyy format will be merged into config file.')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
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


def build_runner(cfg):
    """Checks the config, prepares CPU distributed runs, and builds mmengine's runner."""
    from mmdet.utils import setup_cache_size_limit_of_dynamo
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from .config_checks import check_config
    from .cpu_distributed import prepare_cpu_distributed

    check_config(cfg)
    setup_cache_size_limit_of_dynamo()
    prepare_cpu_distributed(cfg)
    return Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
