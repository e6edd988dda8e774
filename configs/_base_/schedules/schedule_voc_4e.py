# Schedule base for PASCAL VOC 07+12 with mmdet's voc0712 dataset base (which repeats the
# training set 3 times): the schedule of mmdet's pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py,
# 4 epochs of SGD at lr 0.01 for 8 GPUs x 2 images (half the COCO 1x rate), divided by 10
# after epoch 3, no warm-up.
_base_ = 'mmdet::_base_/schedules/schedule_1x.py'

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=4, val_interval=1)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=4, by_epoch=True, milestones=[3], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
auto_scale_lr = dict(enable=False, base_batch_size=16)
