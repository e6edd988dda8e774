// Schemas of the mmdet_psroi ops and the (empty) Python module that loads this library.
// Kernels: cpu/ (TORCH_LIBRARY_IMPL CPU) and cuda/ (TORCH_LIBRARY_IMPL CUDA).
// Autograd and fake (meta) implementations are registered in Python (mmdet_psroi/ops/ps_roi.py).
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
  m.def("ps_roi_pool(Tensor input, Tensor rois, float spatial_scale, int pooled_height, "
        "int pooled_width) -> Tensor");
  m.def("ps_roi_pool_backward(Tensor grad, Tensor rois, float spatial_scale, "
        "int pooled_height, int pooled_width, int batch_size, int channels, int height, "
        "int width) -> Tensor");
  m.def("ps_roi_align(Tensor input, Tensor rois, float spatial_scale, int pooled_height, "
        "int pooled_width, int sampling_ratio) -> Tensor");
  m.def("ps_roi_align_backward(Tensor grad, Tensor rois, float spatial_scale, "
        "int pooled_height, int pooled_width, int sampling_ratio, int batch_size, "
        "int channels, int height, int width) -> Tensor");
}
