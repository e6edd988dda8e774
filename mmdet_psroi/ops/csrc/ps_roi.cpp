// Schemas of the mmdet_psroi ops and the (empty) Python module that loads this library.
//
// Layout of csrc/ (setup.py compiles every file of these folders):
//   ps_roi.cpp      the single TORCH_LIBRARY(mmdet_psroi, m): schemas of the op family and
//                   the module init; a later op adds its own TORCH_LIBRARY_FRAGMENT file here
//   common/         headers shared by every backend: per-element math, argument checks,
//                   the PS RoI ops' entry points over a backend (ps_roi_ops.h)
//   cpu/, cuda/     TORCH_LIBRARY_IMPL CPU / CUDA kernels (cuda/ only in CUDA builds)
//   meta/           TORCH_LIBRARY_IMPL Meta: output shapes from sym sizes (FakeTensor,
//                   torch.compile, torch.export)
//   autograd/       TORCH_LIBRARY_IMPL Autograd: torch::autograd::Function per op
// Pooled sizes and the backward's input sizes are SymInt so that dynamic shapes trace.
#include <Python.h>
#include <torch/library.h>

extern "C" {
// `import mmdet_psroi.ops._C` loads this shared library, which registers the ops below.
PyObject* PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  return PyModule_Create(&module_def);
}
}

TORCH_LIBRARY(mmdet_psroi, m) {
  // original: R-FCN's Caffe quantisation instead of torchvision's (common/ps_roi_math.h).
  m.def("ps_roi_pool(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
        "SymInt pooled_width, bool original=False) -> Tensor");
  m.def("ps_roi_pool_backward(Tensor grad, Tensor rois, float spatial_scale, "
        "SymInt pooled_height, SymInt pooled_width, SymInt batch_size, SymInt channels, "
        "SymInt height, SymInt width, bool original=False) -> Tensor");
  m.def("ps_roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
        "SymInt pooled_width, int sampling_ratio) -> Tensor");
  m.def("ps_roi_align_backward(Tensor grad, Tensor rois, float spatial_scale, "
        "SymInt pooled_height, SymInt pooled_width, int sampling_ratio, SymInt batch_size, "
        "SymInt channels, SymInt height, SymInt width) -> Tensor");
}
