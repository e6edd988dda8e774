# Light-Head R-CNN's RoI head, shared by this folder's configs; each sets the settings that
# depend on its backbone and data into it: thin_map_conv's in_channels and mid_channels, the
# extractor's featmap_strides, and bbox_head's num_classes and box settings (R-FCN's, from the
# model base: configs/_base_/models/box_settings.py). The head: a large separable conv (kernel
# 15) makes alpha*k*k thin maps once per image, each RoI is PSRoIAligned (k x k bins, 2x2
# samples averaged, as the paper) from them, then fc 2048 and class-agnostic boxes (paper).
# k (bbox_head.roi_feat_size) and alpha (bbox_head.in_channels) are stated once: the head sets
# the extractor's output size and the thin maps' count, alpha*k*k, from them.
lighthead_roi_head = dict(
    _delete_=True,
    type='LightHeadRoIHead',
    thin_map_conv=dict(type='LargeSeparableConv', kernel_size=15),
    bbox_roi_extractor=dict(
        type='PSRoIExtractor',
        # 'PSRoIAlignMax' takes the max over the 2x2 samples (the public code's choice)
        roi_layer=dict(type='PSRoIAlign', sampling_ratio=2)),
    bbox_head=dict(
        type='ConvFCBBoxHead',
        num_shared_convs=0,
        num_shared_fcs=1,
        in_channels=10,  # alpha, thin maps per bin (paper: 10; R-FCN would use num_classes + 1)
        fc_out_channels=2048,
        roi_feat_size=7))  # k
