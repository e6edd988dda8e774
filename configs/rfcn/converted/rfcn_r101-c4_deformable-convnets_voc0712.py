# R-FCN, ResNet-v1-101, PASCAL VOC 07+12: a model trained with Deformable-ConvNets' VOC setting
# (MXNet; 79.6 mAP on VOC 2007 test in their README) converted with
# tools/model_converters/deformable_convnets_to_mmdet.py, run with their test settings
# (../../_base_/deformable-convnets_test-settings.py). For testing and inference; see
# docs/pretrained_models.md.
# Base: ../rfcn_r101-c4_ohem_voc0712.py (their training setting: OHEM; VOC 2007 test, 11-point
# mAP as their evaluation).
_base_ = ['../rfcn_r101-c4_ohem_voc0712.py', '../../_base_/deformable-convnets_test-settings.py']

model = _base_.deformable_convnets_model
val_dataloader = test_dataloader = _base_.deformable_convnets_test_dataloader
