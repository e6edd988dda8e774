"""Detect objects in an image or a folder of images and draw them, with mmdet's DetInferencer;
the arguments of mmdet's demo/image_demo.py (which the installed mmdet package does not ship).
Writes OUT_DIR/vis/<image name> and OUT_DIR/preds/<image stem>.json. Run it from the repository
root (configs of projects/ import their modules by package name)."""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmdet_psroi_tools.arguments import at_least, existing_file  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Run a detector on images and draw the '
                                                 'detections (mmdet DetInferencer)')
    parser.add_argument('inputs', help='an image file or a folder of images')
    parser.add_argument('model', type=existing_file, help='config file of the model')
    parser.add_argument('--weights', type=existing_file,
                        help='checkpoint file (default: random initialisation)')
    parser.add_argument('--out-dir', default='outputs', help='output folder')
    parser.add_argument('--device', help='default: cuda:0 if available, else cpu')
    parser.add_argument('--pred-score-thr', type=float, default=0.3,
                        help='draw only detections scoring at least this')
    parser.add_argument('--batch-size', type=at_least(1), default=1)
    parser.add_argument('--show', action='store_true', help='display each image in a window')
    parser.add_argument('--no-save-vis', action='store_true')
    parser.add_argument('--no-save-pred', action='store_true')
    parser.add_argument('--print-result', action='store_true')
    parser.add_argument('--palette', choices=['coco', 'voc', 'citys', 'random', 'none'],
                        default='none', help="box colours (none: the checkpoint's, if any)")
    args = parser.parse_args(argv)
    if not osp.exists(args.inputs):
        parser.error(f'inputs {args.inputs!r}: no such image file or folder')
    if not 0.0 <= args.pred_score_thr <= 1.0:
        parser.error(f'--pred-score-thr must lie in [0, 1], got {args.pred_score_thr}')
    return args


def main(argv=None):
    args = parse_args(argv)
    import torch
    from mmdet.apis import DetInferencer

    import mmdet_psroi.plugin  # noqa: F401  (registers R-FCN; checkpoint loading on torch >= 2.6)

    device = args.device or ('cuda:0' if torch.cuda.is_available() else 'cpu')
    inferencer = DetInferencer(model=args.model, weights=args.weights, device=device,
                               palette=args.palette, show_progress=False)
    results = inferencer(args.inputs, batch_size=args.batch_size, show=args.show,
                         out_dir=args.out_dir, no_save_vis=args.no_save_vis,
                         no_save_pred=args.no_save_pred, print_result=args.print_result,
                         pred_score_thr=args.pred_score_thr)
    if not (args.no_save_vis and args.no_save_pred):
        print(f'results written to {osp.abspath(args.out_dir)}')
    return results


if __name__ == '__main__':
    main()
