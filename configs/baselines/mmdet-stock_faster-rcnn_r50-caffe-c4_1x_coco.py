# mmdet's stock Faster R-CNN C4, ResNet-50 caffe, COCO 1x: identical to mmdet's
# faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py (RoIAlign 14x14 on conv4, then res5 per RoI,
# as the Faster R-CNN the R-FCN paper compares with), kept to run with this repository's tools.
# Not a controlled baseline: besides the RoI head it differs from ../rfcn/rfcn_r50-c4_1x_coco.py
# in mmdet's settings (2000/1000 proposals in training/test, 512 sampled RoIs, test NMS 0.5,
# per-class boxes, L1 box loss, weight decay 0.0001). The controlled one is
# faster-rcnn_roialign_r50-c4_1x_coco.py.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py'
