# NEON trees demo, R-FCN with PSRoIPool: the RoI head of the baseline
# (_base_/mobilenetv2_neon-trees.py) replaced by R-FCN's position-sensitive head (hidden conv
# to 256 + ReLU, k=7 score maps computed once per image, PS RoI pooling, vote by average).
# Same backbone, RPN, data and schedule. Differs from the paper's head in its hidden conv,
# 3x3 instead of 1x1 (on these 64-channel FPN maps it gives the score maps spatial context),
# and in having no OHEM (random sampling of 256 RoIs, as the baseline). The trials behind
# both choices are in docs/neon_demo.md ("Trials behind the demo configs").
_base_ = './_base_/mobilenetv2_neon-trees.py'

model = dict(
    type='RFCN',
    roi_head=dict(
        _delete_=True,
        type='RFCNRoIHead',
        bbox_roi_extractor=dict(
            type='PSRoIExtractor',
            roi_layer=dict(type='PSRoIPool'),
            featmap_strides={{_base_.strides}}),
        bbox_head=dict(
            type='PSBBoxHead',
            in_channels={{_base_.feat_channels}},
            hidden_channels=256,
            hidden_kernel_size=3,
            roi_feat_size=7,
            num_classes=1,
            **_base_.box_settings)))
