# Ablation: R-FCN with the paper's 7x7 position-sensitive grid, the k=7 point of the
# k = 1, 3, 7 series. Identical to ../rfcn/rfcn_r50-c4_1x_coco.py (its base), named here so
# the series runs from one folder (the base's header lists the differences from the paper).
_base_ = '../rfcn/rfcn_r50-c4_1x_coco.py'
