"""Export a two-stage detector to ONNX, end to end, with standard operators; a failed export
leaves no output file (docs/deployment.md).

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT OUT.onnx [--exporter dynamo]
"""
import argparse
import os.path as osp

from mmdet_psroi_tools import onnx_runtime
from mmdet_psroi_tools.arguments import at_least, existing_file
from mmdet_psroi_tools.onnx_runtime import MIN_OPSET
from mmdet_psroi_tools.outputs import replaced


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='Export a two-stage detector to ONNX')
    parser.add_argument('config', type=existing_file)
    parser.add_argument('checkpoint', type=existing_file)
    parser.add_argument('output', help='the .onnx file to write')
    parser.add_argument('--opset', type=int, help='default and minimum: '
                        f'{MIN_OPSET["torchscript"]} with the TorchScript exporter, '
                        f'{MIN_OPSET["dynamo"]} with the dynamo exporter')
    parser.add_argument('--exporter', type=onnx_runtime.exporter, default='auto',
                        metavar='{auto,dynamo,torchscript}',
                        help="PyTorch's ONNX exporter (auto: dynamo where this torch has it "
                             'with onnxscript, else torchscript)')
    parser.add_argument('--input-shape', type=at_least(32), nargs=2, metavar=('H', 'W'),
                        help="the image traced (the graph takes any size; default: the test "
                             "pipeline's Resize scale, else 800 1333)")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value pairs')
    args = parser.parse_args(argv)
    if not args.output.endswith('.onnx'):
        raise SystemExit(f'output must be a .onnx file, got {args.output}')
    out_dir = osp.dirname(osp.abspath(args.output))
    if not osp.isdir(out_dir):
        raise SystemExit(f'output directory does not exist: {out_dir}')
    min_opset = MIN_OPSET[args.exporter]
    args.opset = min_opset if args.opset is None else args.opset
    if args.opset < min_opset:
        raise SystemExit(f'--opset must be >= {min_opset} with the {args.exporter} exporter '
                         '(the PS ops\' ONNX decompositions; RoiAlign with half_pixel '
                         f'coordinates), got {args.opset}')
    return args


def default_input_shape(cfg):
    """The (H, W) of the test pipeline's ``Resize`` scale (mmdet's is (W, H)), else 800 x 1333."""
    for step in cfg.get('test_dataloader', {}).get('dataset', {}).get('pipeline', []):
        if step.get('type') == 'Resize' and step.get('scale') is not None:
            scale = step['scale']
            width, height = (scale, scale) if isinstance(scale, int) else scale
            return int(height), int(width)
    return 800, 1333


def main(argv=None):
    args = parse_args(argv)
    import onnx

    from mmdet_psroi.deploy import ExportableDetector, UnsupportedExport
    from mmdet_psroi.ops import OnnxExportError

    cfg = onnx_runtime.load_config(args.config, args.cfg_options)
    # keys of the checkpoint and the model that do not match are printed (random weights there)
    model = onnx_runtime.load_pytorch_model(cfg, args.checkpoint, logger=None)
    height, width = args.input_shape or default_input_shape(cfg)
    image = onnx_runtime.noise_image(height, width)
    # into a temporary file beside the output, renamed to it once checked (standard operators
    # only): a failure leaves the output as it was
    with replaced(args.output) as tmp:
        try:
            onnx_runtime.export_detector(ExportableDetector(model), image, tmp, args.exporter,
                                         args.opset)
        except (UnsupportedExport, OnnxExportError) as error:  # a setting it cannot reproduce
            raise SystemExit(f'{args.config}: {error}') from error
        onnx.checker.check_model(tmp, full_check=True)
        custom = sorted({f'{node.domain}::{node.op_type}' for node in onnx.load(tmp).graph.node
                         if node.domain not in ('', 'ai.onnx')})
        if custom:
            raise SystemExit(f'not exported: the graph has operators outside the standard '
                             f'domain: {custom}')
    print(f'wrote {args.output} ({args.exporter} exporter, opset {args.opset}; input image '
          f'(1, 3, H, W) traced at {height} x {width})')


if __name__ == '__main__':
    main()
