"""Whole-config helpers for the tools: checks no single module can make, and switching off
pretrained initialisation (for tests and benchmarks, where checkpoint URLs are unreachable)."""


def check_config(cfg):
    """Raise ValueError naming the fields when a dataset's classes (``metainfo.classes``, looked
    up through wrappers such as RepeatDataset) and the box head's ``num_classes`` disagree."""
    bbox_head = (cfg.get('model', {}).get('roi_head') or {}).get('bbox_head')
    if not isinstance(bbox_head, dict) or 'num_classes' not in bbox_head:
        return
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset')
        while dataset is not None and (dataset.get('metainfo') or {}).get('classes') is None:
            dataset = dataset.get('dataset')
        if dataset is None:
            continue
        classes = dataset['metainfo']['classes']
        if len(classes) != bbox_head['num_classes']:
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
