# Controlled baseline of ../deformable-rfcn_r50-c4-dconv-c5_ohem_1x_coco.py: Faster R-CNN with
# RoIAlign on the same deformable backbone, differing from it only in the RoI head
# (configs/_base_/models/roialign-2fc_head.py): RoIAlign 7x7 on the dilated, deformable conv5 and
# two fc layers of 1024 per RoI, instead of deformable PS RoI pooling. Same RPN, 300 proposals,
# OHEM (the 128 RoIs of highest total loss per image), box settings, test NMS 0.3, data and
# schedule. Differs from the public code's Faster R-CNN with deformable conv, which reduces
# conv5 to 256 channels by a 1x1 conv and pools it with deformable RoI pooling, and otherwise as
# its partner's header says.
_base_ = '../deformable-rfcn_r50-c4-dconv-c5_ohem_1x_coco.py'

model = dict(roi_head=_base_.roialign_2fc_roi_head)
