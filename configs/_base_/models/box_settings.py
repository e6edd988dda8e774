# The box settings that R-FCN, its position-sensitive relatives and their controlled Faster R-CNN
# baselines share, so that a pair differs only in the head architecture: class-agnostic boxes
# (R-FCN's choice), box targets normalised by stds 0.1/0.2, a softmax cross-entropy and a smooth
# L1 box loss. Every box head of a controlled pair takes them with `**_base_.box_settings`;
# tests/test_config_pairs.py checks that the pairs agree.
box_settings = dict(
    reg_class_agnostic=True,
    bbox_coder=dict(
        type='DeltaXYWHBBoxCoder',
        target_means=[0., 0., 0., 0.],
        target_stds=[0.1, 0.1, 0.2, 0.2]),
    loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
