# R-FCN, ResNet-50, COCO, 1x, with online hard example mining (paper, section 3).
# Base: rfcn_r50-c4_1x_coco.py. Differences: 300 proposals per image in training, of which
# mmdet's OHEMSampler keeps the 128 with the highest loss (cheap in R-FCN: the per-RoI cost
# is pooling only).
_base_ = './rfcn_r50-c4_1x_coco.py'

model = dict(
    train_cfg=dict(
        rpn_proposal=dict(max_per_img=300),
        rcnn=dict(sampler=dict(_delete_=True, type='OHEMSampler', num=128, pos_fraction=0.25,
                               neg_pos_ub=-1, add_gt_as_proposals=True))))
