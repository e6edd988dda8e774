# Ablation: PSRoIAlign (bilinear sampling, 2x2 points per bin) instead of PSRoIPool
# (quantised bins; the paper's). Base: ../rfcn/rfcn_r50-c4_1x_coco.py; differs only in
# roi_layer (its other differences from the paper are the base's).
_base_ = '../rfcn/rfcn_r50-c4_1x_coco.py'

model = dict(
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(_delete_=True, type='PSRoIAlign', sampling_ratio=2))))
