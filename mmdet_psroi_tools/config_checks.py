"""Whole-config helpers for the tools: checks no single module can make, and switching off
pretrained initialisation (for tests and benchmarks, where checkpoint URLs are unreachable)."""


def _dataset_classes(dataset_cfg):
    """The class names a dataset config declares (``metainfo.classes``), looking through
    wrappers such as RepeatDataset, or None."""
    while dataset_cfg is not None:
        metainfo = dataset_cfg.get('metainfo') or {}
        if metainfo.get('classes') is not None:
            return tuple(metainfo['classes'])
        dataset_cfg = dataset_cfg.get('dataset')
    return None


def check_config(cfg):
    """Raise ValueError naming the fields when the dataset's classes and the box head's
    ``num_classes`` disagree."""
    bbox_head = (cfg.get('model', {}).get('roi_head') or {}).get('bbox_head')
    if not isinstance(bbox_head, dict) or 'num_classes' not in bbox_head:
        return
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset')
        classes = _dataset_classes(dataset) if dataset is not None else None
        if classes is not None and len(classes) != bbox_head['num_classes']:
            raise ValueError(
                f'model.roi_head.bbox_head.num_classes={bbox_head["num_classes"]} but '
                f'{loader}.dataset.metainfo.classes lists {len(classes)} classes: make '
                'them agree')


def without_pretrained(node):
    """Sets every ``init_cfg=dict(type='Pretrained', ...)`` in a (nested) config to None, in
    place, and returns the config."""
    if isinstance(node, dict):
        init_cfg = node.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            node['init_cfg'] = None
        for value in node.values():
            without_pretrained(value)
    elif isinstance(node, list):
        for value in node:
            without_pretrained(value)
    return node
