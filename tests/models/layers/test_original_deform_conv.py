"""OriginalDCN samples as Deformable-ConvNets' kernel: as mmcv's DeformConv2d wherever every tap
lies inside the map, and differently within one pixel of the border (0 before row 0, the last
row in the last row's cell); the MXNet parity test checks it against MXNet itself."""
import torch


def layers(dilation=2):
    from mmcv.ops import DeformConv2dPack
    from mmdet.registry import MODELS

    import mmdet_psroi.plugin  # noqa: F401  (registers OriginalDCN)

    torch.manual_seed(0)
    ours = MODELS.build(dict(type='OriginalDCN', in_channels=8, out_channels=4, kernel_size=3,
                             padding=dilation, dilation=dilation, deform_groups=2))
    theirs = DeformConv2dPack(8, 4, 3, padding=dilation, dilation=dilation, deform_groups=2,
                              bias=False)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def test_equals_mmcv_where_every_tap_is_inside():
    ours, theirs = layers()
    torch.nn.init.normal_(ours.conv_offset.bias, std=0.3)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(1, 8, 12, 14)
    with torch.no_grad():
        a, b = ours(x), theirs(x)
    # output pixels whose taps (dilation 2, offsets < 1) stay at least 1 pixel inside
    assert torch.allclose(a[..., 3:-3, 3:-3], b[..., 3:-3, 3:-3], atol=1e-5)


def test_border_taps_follow_the_original_kernel():
    ours, _ = layers(dilation=1)
    x = torch.randn(1, 8, 5, 5)
    with torch.no_grad():
        ours.conv_offset.bias.fill_(0.5)  # every tap moves half a pixel down and right
        out = ours(x)
        # taps at 4.5 read the last row/column (mmcv: half of it), taps at -0.5 read 0 (mmcv:
        # half of row/column 0): the map padded by its last row/column at the bottom/right,
        # averaged 2x2 (the half-pixel shift), then convolved with zero padding
        padded = torch.nn.functional.pad(x, (0, 1, 0, 1), mode='replicate')
        padded = torch.nn.functional.pad(padded, (1, 0, 1, 0))
        shifted = torch.nn.functional.avg_pool2d(padded, 2, stride=1)[..., 1:, 1:]
        expected = torch.nn.functional.conv2d(
            torch.nn.functional.pad(shifted, (1, 1, 1, 1)), ours.weight)
    assert torch.allclose(out, expected, atol=1e-5)
