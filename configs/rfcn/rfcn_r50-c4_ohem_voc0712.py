# R-FCN, ResNet-50, PASCAL VOC 07+12 trainval -> VOC 2007 test, with OHEM (the paper's VOC
# setting, on ResNet-50). Base: rfcn_r50-c4_ohem_1x_coco.py's model with 20 classes, mmdet's
# voc0712 dataset base and mmdet's VOC schedule (../_base_/schedules/schedule_voc_4e.py) with
# the paper's weight decay, 0.0005.
_base_ = [
    '../_base_/models/rfcn_r50-c4.py',
    'mmdet::_base_/datasets/voc0712.py',
    '../_base_/schedules/schedule_voc_4e.py',
    'mmdet::_base_/default_runtime.py',
]

model = dict(
    roi_head=dict(bbox_head=dict(num_classes=20)),
    train_cfg=dict(
        rcnn=dict(sampler=dict(_delete_=True, type='OHEMSampler', num=128, pos_fraction=0.25,
                               neg_pos_ub=-1, add_gt_as_proposals=True))))
optim_wrapper = dict(optimizer=dict(weight_decay=0.0005))
