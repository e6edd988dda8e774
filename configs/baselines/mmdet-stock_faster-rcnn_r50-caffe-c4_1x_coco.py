# Baseline for rfcn/rfcn_r50-c4_1x_coco.py: mmdet's Faster R-CNN C4 with RoI Align (14x14,
# then res5 per RoI), ResNet-50 caffe, COCO 1x. Identical to mmdet's
# faster-rcnn_r50-caffe_c4-1x_coco.py; kept here so both sides of the comparison live in
# this repository and run with the same tools.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py'
