"""The part of mmdet's ``DetDataPreprocessor`` that an exported graph contains."""
import torch
from torch import Tensor, nn

from .errors import UnsupportedExport
from .graph_ops import pad_to_multiple


class GraphPreprocessor(nn.Module):
    """What ``DetDataPreprocessor`` does to one test image, in the graph: channel order
    (``bgr_to_rgb``), ``(x - mean) / std``, padding to ``pad_size_divisor`` with
    ``pad_value``. The image's size before padding is the clip bound of the boxes (mmdet's
    ``img_shape``), which is why the padding is inside the graph.

    Args:
        data_preprocessor: the detector's ``DetDataPreprocessor``.

    Shapes: ``forward(image)``: ``(1, 3, H, W)`` float, the resized image with channels as
    loaded (BGR for mmcv's loading with ``bgr_to_rgb=True``), 0-255 -> ``(1, 3, H', W')``,
    H' and W' the next multiples of ``pad_size_divisor``.
    """

    def __init__(self, data_preprocessor) -> None:
        super().__init__()
        name = type(data_preprocessor).__name__
        if name != 'DetDataPreprocessor':
            raise UnsupportedExport('model.data_preprocessor',
                                    f'type {name!r}; the export reproduces '
                                    'DetDataPreprocessor only')
        self.bgr_to_rgb = bool(data_preprocessor._channel_conversion)
        self.normalize = bool(data_preprocessor._enable_normalize)
        if self.normalize:
            mean, std = data_preprocessor.mean, data_preprocessor.std
            if mean.numel() != 3 or std.numel() != 3:
                raise UnsupportedExport('model.data_preprocessor',
                                        'mean and std must have 3 values (one per channel)')
            self.register_buffer('mean', mean.detach().clone().view(1, 3, 1, 1), False)
            self.register_buffer('std', std.detach().clone().view(1, 3, 1, 1), False)
        self.pad_size_divisor = int(data_preprocessor.pad_size_divisor)
        self.pad_value = float(data_preprocessor.pad_value)

    def forward(self, image: Tensor) -> Tensor:
        if self.bgr_to_rgb:
            image = image[:, [2, 1, 0]]
        if self.normalize:
            image = (image - self.mean) / self.std
        if self.pad_size_divisor > 1:
            image = pad_to_multiple(image, self.pad_size_divisor, self.pad_value)
        return image

    def extra_repr(self) -> str:
        return (f'bgr_to_rgb={self.bgr_to_rgb}, normalize={self.normalize}, '
                f'pad_size_divisor={self.pad_size_divisor}, pad_value={self.pad_value}')


def image_hw(image: Tensor) -> Tensor:
    """``(1, C, H, W)`` -> ``(2,)`` float tensor ``(H, W)`` (dynamic in an exported graph)."""
    # sizes as 0-d tensors: both exporters keep them dynamic (torch.tensor(shape) would be a
    # constant of the TorchScript trace; torch._shape_as_tensor has no torch.export form)
    return torch.stack([torch.scalar_tensor(size, dtype=torch.float32)
                        for size in image.shape[2:]])
