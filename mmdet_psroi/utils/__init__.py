from .checkpoint import allow_mmengine_checkpoints
from .environment import check_openmmlab_stack

__all__ = ['allow_mmengine_checkpoints', 'check_openmmlab_stack']
