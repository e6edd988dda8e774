# NEON trees demo, baseline: Faster R-CNN with RoI Align (7x7, 2x2 samples) and two shared fc
# layers (256) per RoI, on the FPN level that suits the RoI's size. Identical to its base
# (_base_/mobilenetv2_neon-trees.py), named for the results table.
_base_ = './_base_/mobilenetv2_neon-trees.py'
