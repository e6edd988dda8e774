# R-FCN, ResNet-50, PASCAL VOC 07+12 trainval -> VOC 2007 test, with the paper's OHEM (the 128
# RoIs of highest total loss per image): the paper's VOC setting on ResNet-50. Model: that of
# rfcn_r50-c4_ohem_1x_coco.py with 20 classes; data: mmdet's voc0712 base; schedule: mmdet's VOC
# schedule (../_base_/schedules/schedule_voc_4e.py) with the paper's weight decay, 0.0005.
# Differs from the paper: 16 images per step at lr 0.01 for 4 epochs of the 3x repeated set
# (paper: 8 images per step, lr 0.001 for 20k steps then 0.0001 for 10k); end-to-end training
# (paper: 4-step alternating training); mmdet's C4 RPN (15 anchors, 1024-channel conv);
# PSRoIPool bins rounded as torchvision's ps_roi_pool, not as the original Caffe layer.
# Controlled baseline: ../baselines/faster-rcnn_roialign_r50-c4_ohem_voc0712.py (only the RoI
# head differs).
_base_ = [
    '../_base_/models/rfcn_r50-c4.py',
    'mmdet::_base_/datasets/voc0712.py',
    '../_base_/schedules/schedule_voc_4e.py',
    'mmdet::_base_/default_runtime.py',
]

model = dict(
    roi_head=dict(bbox_head=dict(num_classes=20)),
    train_cfg=dict(
        rcnn=dict(sampler=dict(_delete_=True, type='TotalLossOHEMSampler', num=128,
                               add_gt_as_proposals=True))))
optim_wrapper = dict(optimizer=dict(weight_decay=0.0005))
