# R-FCN, ResNet-50, COCO, 1x, with online hard example mining (paper, section 2).
# Base: rfcn_r50-c4_1x_coco.py. Difference: of the 300 proposals per image, mmdet's
# OHEMSampler keeps the 128 with the highest loss instead of 128 random ones. It mines
# positives (up to 25 %) and negatives separately, where the paper sorts all 300 together.
# Cheap in R-FCN: the score maps are computed once per step and the mining only pools them.
_base_ = './rfcn_r50-c4_1x_coco.py'

model = dict(
    train_cfg=dict(
        rcnn=dict(sampler=dict(_delete_=True, type='OHEMSampler', num=128, pos_fraction=0.25,
                               neg_pos_ub=-1, add_gt_as_proposals=True))))
