# Schedule base for PASCAL VOC 07+12 with mmdet's voc0712 dataset base (which repeats the
# training set 3 times): 4 epochs, learning rate divided by 10 after epoch 3 (the schedule
# of mmdet's faster-rcnn_r50_fpn_1x_voc0712.py).
_base_ = 'mmdet::_base_/schedules/schedule_1x.py'

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=4, val_interval=1)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=4, by_epoch=True, milestones=[3], gamma=0.1)
]
