"""mmdet's per-image results (``InstanceData``) holding a graph's tensors."""
from torch import Tensor


def graph_instances(**fields: Tensor):
    """An ``InstanceData`` with ``fields`` (tensors of one length). Set as fields, not as
    attributes: ``InstanceData``'s attribute check compares the lengths as Python ints, which
    ``torch.export`` cannot do for a data-dependent count (e.g. the boxes NMS keeps)."""
    from mmengine.structures import InstanceData

    instances = InstanceData()
    for name, value in fields.items():
        instances.set_field(value, name)
    return instances
