from contextlib import contextmanager

import torch
from mmdet.registry import OPTIM_WRAPPERS
from mmengine.optim import OptimWrapper
from torch import nn


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """Mixed-precision training with bfloat16 autocast, on any device (the CPU included).

    mmengine's ``AmpOptimWrapper`` runs only where CUDA (or NPU/MLU) is available and scales
    the loss for float16. bfloat16 has float32's exponent range, so gradients do not
    underflow and no loss scaling is needed: the forward pass (and the loss) runs under
    ``torch.autocast(device_type, dtype=torch.bfloat16)``, the backward pass and the update
    are ``OptimWrapper``'s. ``tools/train.py --amp`` selects it when no GPU is visible.

    Args:
        device_type (str): the autocast device, 'cpu' (default) or 'cuda'.
        **kwargs: the rest of ``OptimWrapper`` (optimizer, clip_grad, accumulative_counts).
    """

    def __init__(self, device_type: str = 'cpu', **kwargs) -> None:
        if device_type not in ('cpu', 'cuda'):
            raise ValueError(f"BF16OptimWrapper: device_type must be 'cpu' or 'cuda', got "
                             f'{device_type!r}')
        super().__init__(**kwargs)
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model: nn.Module):
        """``OptimWrapper``'s context (gradient accumulation) inside bfloat16 autocast."""
        with super().optim_context(model), torch.autocast(
                device_type=self.device_type, dtype=torch.bfloat16, cache_enabled=False):
            yield
