# R-FCN, ResNet-v1-101, COCO: the authors' trained model (Deformable-ConvNets' rfcn_coco-0000.params,
# MXNet) converted with tools/model_converters/deformable_convnets_to_mmdet.py, run with their
# test settings (../../_base_/deformable-convnets_test-settings.py). For testing and inference;
# see docs/pretrained_models.md.
# Base: ../rfcn_r101-c4_ohem_1x_coco.py (their training setting: OHEM). The model was trained on
# COCO trainval2014 (which holds val2017) and evaluated on test-dev2015 (32.1 AP, their README):
# results on this config's val2017 are optimistic; submit test-dev results to compare.
_base_ = ['../rfcn_r101-c4_ohem_1x_coco.py', '../../_base_/deformable-convnets_test-settings.py']

model = _base_.deformable_convnets_model
val_dataloader = test_dataloader = _base_.deformable_convnets_test_dataloader
