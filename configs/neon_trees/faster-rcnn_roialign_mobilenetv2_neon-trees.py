# NEON trees demo, baseline: Faster R-CNN with RoI Align (7x7, 2x2 samples) and two shared fc
# layers (256) per RoI, on MobileNetV2's stride-16 features. Identical to its base
# (_base_/mobilenetv2_neon-trees.py), named for the results table.
_base_ = './_base_/mobilenetv2_neon-trees.py'
