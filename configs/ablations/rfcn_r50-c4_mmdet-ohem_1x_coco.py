# Ablation: R-FCN's OHEM with mmdet's OHEMSampler instead of the paper's ranking: of the 300
# proposals and ground-truth boxes of an image, 128 chosen by classification loss alone,
# positives (up to 25 %) and negatives mined separately. Base: ../rfcn/rfcn_r50-c4_ohem_1x_coco.py
# (all RoIs ranked together by classification + box loss, as the paper); differs only in the
# sampler (its other differences from the paper are the base's).
_base_ = '../rfcn/rfcn_r50-c4_ohem_1x_coco.py'

model = dict(
    train_cfg=dict(
        rcnn=dict(sampler=dict(_delete_=True, type='OHEMSampler', num=128, pos_fraction=0.25,
                               neg_pos_ub=-1, add_gt_as_proposals=True))))
