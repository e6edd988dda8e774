"""Test (and evaluate) a detector checkpoint; same arguments as mmdet's tools/test.py."""
import argparse

import mmdet_psroi.plugin  # noqa: F401  (registers R-FCN, checkpoint loading fix)
from mmdet_psroi_tools.arguments import existing_file
from mmdet_psroi_tools.runner_setup import add_common_arguments, built_runner, load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='MMDet test (and eval) a model')
    add_common_arguments(parser)
    parser.add_argument('checkpoint', type=existing_file, help='checkpoint file')
    parser.add_argument('--out', help='a .pkl file to dump the predictions to')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='where to save painted images, under work_dir')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument('--tta', action='store_true')
    args = parser.parse_args(argv)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must be a .pkl or .pickle file, got {args.out}')
    return args


def main(argv=None):
    from mmdet.engine.hooks.utils import trigger_visualization_hook
    from mmdet.evaluation import DumpDetResults

    args = parse_args(argv)
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise SystemExit('--tta needs tta_model and tta_pipeline in the config')
        cfg.model = dict(**cfg.tta_model, module=cfg.model)
        test_data_cfg = cfg.test_dataloader.dataset
        while 'dataset' in test_data_cfg:
            test_data_cfg = test_data_cfg['dataset']
        test_data_cfg.pipeline = cfg.tta_pipeline
    with built_runner(cfg) as runner:
        if args.out is not None:
            runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
        runner.test()


if __name__ == '__main__':
    main()
