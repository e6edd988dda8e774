# Controlled baseline of ../rfcn/rfcn_r50-c4_1x_coco.py: Faster R-CNN with RoIAlign, differing
# from it only in the RoI head (../_base_/models/roialign-2fc_head.py): RoIAlign 7x7 on the
# dilated conv5 and two fc layers of 1024 per RoI instead of position-sensitive score maps. Same
# backbone, RPN on conv4 (the detector type RFCN only routes conv4 to the RPN and conv5 to the
# head), 300 proposals, 128 sampled RoIs, test NMS 0.3, box settings, data and schedule.
# Differs from the paper: the R-FCN paper's Faster R-CNN runs res5 per RoI after RoI pooling on
# conv4 (that head: mmdet-stock_faster-rcnn_r50-caffe-c4_1x_coco.py); data, schedule and
# training differ from the paper as its partner's header says.
_base_ = '../rfcn/rfcn_r50-c4_1x_coco.py'

model = dict(roi_head=_base_.roialign_2fc_roi_head)
