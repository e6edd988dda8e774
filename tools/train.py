"""Train a detector with MMDetection's runner; same arguments as mmdet's tools/train.py."""
import argparse

import torch
from mmengine.logging import print_log

import mmdet_psroi.plugin  # noqa: F401  (registers R-FCN and BF16OptimWrapper for --amp)
from mmdet_psroi_tools.arguments import existing_file
from mmdet_psroi_tools.runner_setup import add_common_arguments, built_runner, load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a detector')
    add_common_arguments(parser)
    parser.add_argument('--amp', action='store_true', help='mixed precision: float16 with '
                        'dynamic loss scaling on a GPU, bfloat16 on the CPU')
    parser.add_argument('--auto-scale-lr', action='store_true')
    parser.add_argument('--resume', nargs='?', const='auto',
                        type=lambda text: text if text == 'auto' else existing_file(text),
                        help='resume from this checkpoint (without one: the latest in work_dir)')
    return parser.parse_args(argv)


def enable_amp(cfg):
    """mmdet's ``--amp`` (float16, ``AmpOptimWrapper``) with CUDA, else bfloat16 autocast on the
    CPU (``BF16OptimWrapper``): docs/mixed_precision.md."""
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper in ('AmpOptimWrapper', 'BF16OptimWrapper'):
        print_log(f'--amp: mixed precision is already enabled ({wrapper}) in the config',
                  logger='current')
    elif wrapper != 'OptimWrapper':
        raise SystemExit(f'--amp needs optim_wrapper.type=OptimWrapper, got {wrapper}')
    elif torch.cuda.is_available():
        cfg.optim_wrapper.update(type='AmpOptimWrapper', loss_scale='dynamic')
    else:
        cfg.optim_wrapper.type = 'BF16OptimWrapper'
        print_log('--amp: no CUDA device, training with bfloat16 autocast on the CPU',
                  logger='current')


def build_config(args):
    cfg = load_config(args)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        if 'base_batch_size' not in (cfg.get('auto_scale_lr') or {}):
            raise RuntimeError('Can not find "auto_scale_lr" or "auto_scale_lr.base_batch_size" '
                               'in your configuration file.')
        cfg.auto_scale_lr.enable = True
    if args.resume is not None:
        cfg.resume = True
        cfg.load_from = None if args.resume == 'auto' else args.resume
    return cfg


def main(argv=None):
    cfg = build_config(parse_args(argv))
    with built_runner(cfg) as runner:
        runner.train()


if __name__ == '__main__':
    main()
