# Light-Head R-CNN's RoI head, shared by this folder's configs; each sets the settings that
# depend on its backbone and data into it: thin_map_conv's in_channels and mid_channels, the
# extractor's featmap_strides and bbox_head's num_classes. The head: a large separable conv
# (kernel 15) makes alpha*k*k thin maps once per image, each RoI is PSRoIAligned (k x k bins,
# 2x2 samples averaged, as the paper) from them, then fc 2048 and class-agnostic boxes (paper).
alpha = 10  # thin maps per bin (paper: 10; R-FCN would use num_classes + 1)
k = 7

lighthead_roi_head = dict(
    _delete_=True,
    type='LightHeadRoIHead',
    thin_map_conv=dict(type='LargeSeparableConv', out_channels=alpha * k * k, kernel_size=15),
    bbox_roi_extractor=dict(
        type='LightHeadRoIExtractor',
        # 'PSRoIAlignMax' takes the max over the 2x2 samples (the public code's choice)
        roi_layer=dict(type='PSRoIAlign', output_size=k, sampling_ratio=2)),
    bbox_head=dict(
        type='ConvFCBBoxHead',
        num_shared_convs=0,
        num_shared_fcs=1,
        in_channels=alpha,
        fc_out_channels=2048,
        roi_feat_size=k,
        reg_class_agnostic=True,  # False: per-class boxes (the public code's choice)
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0., 0., 0., 0.],
            target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)))
