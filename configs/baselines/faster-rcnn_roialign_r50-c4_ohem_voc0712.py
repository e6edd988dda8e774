# Controlled baseline of ../rfcn/rfcn_r50-c4_ohem_voc0712.py: Faster R-CNN with RoIAlign and the
# same OHEM, differing from it only in the RoI head (../_base_/models/roialign-2fc_head.py with
# 20 classes): RoIAlign 7x7 on the dilated conv5 and two fc layers of 1024 per RoI. Same
# backbone, RPN, proposals, sampler, test settings, data and schedule.
# Differs from the paper: as faster-rcnn_roialign_r50-c4_1x_coco.py.
_base_ = '../rfcn/rfcn_r50-c4_ohem_voc0712.py'

model = dict(
    roi_head=dict(
        _base_.roialign_2fc_roi_head,
        bbox_head=dict(_base_.roialign_2fc_roi_head.bbox_head, num_classes=20)))
