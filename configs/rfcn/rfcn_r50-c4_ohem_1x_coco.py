# R-FCN, ResNet-50, COCO, 1x, with online hard example mining as in the paper (section 3): of
# each image's 300 proposals and ground-truth boxes, the 128 of highest total loss
# (classification + box regression), positives and negatives ranked together
# (TotalLossOHEMSampler). The score maps are computed once per step; mining only pools them.
# Base: rfcn_r50-c4_1x_coco.py, whose header lists the differences from the paper; differs from
# it only in the sampler. mmdet's OHEMSampler (classification loss only, positives and
# negatives mined separately): ../ablations/rfcn_r50-c4_mmdet-ohem_1x_coco.py.
# Controlled baseline: ../baselines/faster-rcnn_roialign_r50-c4_ohem_1x_coco.py (only the RoI
# head differs).
_base_ = './rfcn_r50-c4_1x_coco.py'

model = dict(
    train_cfg=dict(
        rcnn=dict(sampler=dict(_delete_=True, type='TotalLossOHEMSampler', num=128,
                               add_gt_as_proposals=True))))
