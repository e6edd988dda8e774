# Deformable R-FCN, ResNet-v1-101, COCO: the authors' trained model (Deformable-ConvNets'
# rfcn_dcn_coco-0000.params, MXNet) converted with
# tools/model_converters/deformable_convnets_to_mmdet.py, run with their test settings
# (configs/_base_/deformable-convnets_test-settings.py); the deformable pooling follows their
# kernel (rule='mxnet'). For testing and inference; see docs/pretrained_models.md.
# Base: ../deformable-rfcn_r101-c4-dconv-c5_ohem_1x_coco.py. The model was trained on COCO
# trainval2014 (which holds val2017) and evaluated on test-dev2015 (35.7 AP, their README):
# results on this config's val2017 are optimistic; submit test-dev results to compare.
_base_ = [
    '../deformable-rfcn_r101-c4-dconv-c5_ohem_1x_coco.py',
    '../../../../configs/_base_/deformable-convnets_test-settings.py',
]

model = _base_.deformable_convnets_dcn_model
val_dataloader = test_dataloader = _base_.deformable_convnets_test_dataloader
