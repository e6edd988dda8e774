# Deformable R-FCN, ResNet-v1-101, PASCAL VOC 07+12: a model trained with Deformable-ConvNets'
# VOC setting (MXNet; 82.3 mAP on VOC 2007 test in their README) converted with
# tools/model_converters/deformable_convnets_to_mmdet.py, run with their test settings
# (configs/_base_/deformable-convnets_test-settings.py); the deformable pooling follows their
# kernel (rule='mxnet'). For testing and inference; see docs/pretrained_models.md.
# Base: ../deformable-rfcn_r101-c4-dconv-c5_ohem_voc0712.py (VOC 2007 test, 11-point mAP as
# their evaluation).
_base_ = [
    '../deformable-rfcn_r101-c4-dconv-c5_ohem_voc0712.py',
    '../../../../configs/_base_/deformable-convnets_test-settings.py',
]

model = _base_.deformable_convnets_dcn_model
val_dataloader = test_dataloader = _base_.deformable_convnets_test_dataloader
