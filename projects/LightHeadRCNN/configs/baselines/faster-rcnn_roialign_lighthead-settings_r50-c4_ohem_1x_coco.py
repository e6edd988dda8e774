# Controlled baseline of ../lighthead-rcnn_r50-c4_ohem_1x_coco.py: Faster R-CNN with RoIAlign,
# differing from it only in the RoI head (configs/_base_/models/roialign-2fc_head.py): RoIAlign
# 7x7 on the dilated conv5 and two fc layers of 1024 per RoI, instead of the large separable
# conv, thin maps, PSRoIAlign and fc 2048. Same backbone, 512-channel RPN, 2000/1000 proposals,
# OHEM (the 256 RoIs of highest total loss per image), box settings, test NMS 0.3, data and
# schedule. Its differences from the paper and public code are its partner's.
_base_ = '../lighthead-rcnn_r50-c4_ohem_1x_coco.py'

model = dict(roi_head=_base_.roialign_2fc_roi_head)
