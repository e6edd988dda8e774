# NEON trees demo, R-FCN with PSRoIAlign: rfcn_psroipool_mobilenetv2_neon-trees.py with
# bilinear position-sensitive pooling (7x7 bins, 2x2 samples per bin) instead of quantised
# bins. Everything else as there. Its results over 8 seeds, and the head variants tried
# against it (none better), are in docs/neon_demo.md.
_base_ = './rfcn_psroipool_mobilenetv2_neon-trees.py'

model = dict(
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(_delete_=True, type='PSRoIAlign', sampling_ratio=2))))
