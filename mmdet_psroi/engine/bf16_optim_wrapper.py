from contextlib import contextmanager
from typing import Optional

import torch
from mmdet.registry import OPTIM_WRAPPERS
from mmengine.optim import OptimWrapper
from torch import nn

AUTOCAST_DEVICE_TYPES = ('cpu', 'cuda')


def parameters_device_type(model: nn.Module) -> str:
    """The device type ('cpu', 'cuda') that holds all of ``model``'s parameters.

    Raises:
        ValueError: the model has no parameters, or has them on several device types.
    """
    found = sorted({param.device.type for param in model.parameters()})
    if len(found) != 1:
        raise ValueError('BF16OptimWrapper: autocast needs the model\'s parameters on one '
                         f'device type, found {found or "no parameters"}')
    return found[0]


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """Mixed-precision training with bfloat16 autocast, on any device (the CPU included).

    mmengine's ``AmpOptimWrapper`` runs only where CUDA (or NPU/MLU) is available and scales
    the loss for float16. bfloat16 has float32's exponent range, so gradients do not
    underflow and no loss scaling is needed: the forward pass (and the loss) runs under
    ``torch.autocast(device_type, dtype=torch.bfloat16)``, the backward pass and the update
    are ``OptimWrapper``'s. ``tools/train.py --amp`` selects it when no GPU is visible.

    The autocast device type is the one of the model's parameters, read in each
    :meth:`optim_context`: the same config trains in bfloat16 on the CPU and on a GPU.

    Args:
        device_type (str, optional): 'cpu' or 'cuda' to state where the model must be; a model
            whose parameters are elsewhere stops with a ValueError instead of training in
            float32 outside autocast. None (default): wherever the parameters are.
        **kwargs: the rest of ``OptimWrapper`` (optimizer, clip_grad, accumulative_counts).
    """

    def __init__(self, device_type: Optional[str] = None, **kwargs) -> None:
        if device_type is not None and device_type not in AUTOCAST_DEVICE_TYPES:
            raise ValueError(f"BF16OptimWrapper: device_type must be None, 'cpu' or 'cuda', "
                             f'got {device_type!r}')
        super().__init__(**kwargs)
        self.device_type = device_type

    def autocast_device_type(self, model: nn.Module) -> str:
        """The device type of ``model``'s parameters, checked against ``device_type``.

        Raises:
            ValueError: the parameters are on a device type autocast is not used with here,
                or not on the stated ``device_type``.
        """
        found = parameters_device_type(model)
        if found not in AUTOCAST_DEVICE_TYPES:
            raise ValueError(f"BF16OptimWrapper: the model's parameters are on {found!r}; "
                             f'bfloat16 autocast is used on {AUTOCAST_DEVICE_TYPES}')
        if self.device_type is not None and found != self.device_type:
            raise ValueError(f'BF16OptimWrapper: device_type={self.device_type!r}, but the '
                             f"model's parameters are on {found!r} (autocast there would "
                             'leave the forward pass in float32); drop device_type or move '
                             'the model')
        return found

    @contextmanager
    def optim_context(self, model: nn.Module):
        """``OptimWrapper``'s context (gradient accumulation) inside bfloat16 autocast on the
        device type of ``model``'s parameters."""
        device_type = self.autocast_device_type(model)
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=torch.bfloat16, cache_enabled=False):
            yield
