# mmdeploy (1.3.1) deploy config for this package's two-stage detectors (R-FCN with PSRoIPool or
# PSRoIAlign, C4 or FPN; Light-Head R-CNN; the Faster R-CNN baseline): ONNX with dynamic batch,
# height and width, run by onnxruntime; every operator standard (no custom domain, no
# mmdeploy op library). Run with mmdeploy's tools/deploy.py (docs/deployment.md, section
# "mmdeploy's deploy.py"):
#   python third_party/mmdeploy/tools/deploy.py configs/deploy/rfcn_onnxruntime_dynamic.py \
#       CONFIG CHECKPOINT IMAGE --work-dir OUT --device cpu
_base_ = ['../../third_party/mmdeploy/configs/mmdet/detection/'
          'detection_onnxruntime_dynamic.py']

# opset 17: the PS RoI ops' ONNX forms need it (mmdeploy's default, 11, refuses them)
onnx_config = dict(opset_version=17)
# the rewriters of what mmdeploy's own rewrites of mmdet leave untraceable in these models
codebase_config = dict(module=['mmdet_psroi.deploy.mmdeploy_rewriters'])
