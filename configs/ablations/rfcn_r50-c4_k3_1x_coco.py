# Ablation: R-FCN with a 3x3 position-sensitive grid (paper, table 1: k=1 has no
# position sensitivity, k=3 and k=7 add it). Base: ../rfcn/rfcn_r50-c4_1x_coco.py (k=7);
# differs only in k, stated once in the box head, which sets its extractor's output size (its
# other differences from the paper are the base's).
_base_ = '../rfcn/rfcn_r50-c4_1x_coco.py'

model = dict(roi_head=dict(bbox_head=dict(roi_feat_size=3)))
