# Controlled baseline of ../deformable-rfcn_r50-c4-dconv-c5_ohem_voc0712.py: Faster R-CNN with
# RoIAlign on the same deformable backbone, differing from it only in the RoI head
# (configs/_base_/models/roialign-2fc_head.py with 20 classes): RoIAlign 7x7 on the dilated,
# deformable conv5 and two fc layers of 1024 per RoI. Same RPN, proposals, OHEM, test settings,
# data and schedule. Differs from the public code as
# faster-rcnn_roialign_r50-c4-dconv-c5_ohem_1x_coco.py.
_base_ = '../deformable-rfcn_r50-c4-dconv-c5_ohem_voc0712.py'

model = dict(
    roi_head=dict(
        _base_.roialign_2fc_roi_head,
        bbox_head=dict(_base_.roialign_2fc_roi_head.bbox_head, num_classes=20)))
