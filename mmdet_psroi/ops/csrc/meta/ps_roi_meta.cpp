// Meta kernels of the mmdet_psroi ops: output shapes and dtypes from (symbolic) sizes, no
// data. FakeTensor runs them, so torch.compile (also with dynamic shapes), torch.export and
// torch.library.opcheck trace the ops on every torch version, with no Python registration.
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include "common/ps_roi_checks.h"

namespace mmdet_psroi {
namespace meta {
namespace {

at::Tensor pooled_output(const char* name, const at::Tensor& input, const at::Tensor& rois,
                         const c10::SymInt& pooled_h, const c10::SymInt& pooled_w) {
  check_forward_args(name, input, rois, pooled_h, pooled_w);
  return at::empty_symint(
      {rois.sym_size(0), input.sym_size(1) / (pooled_h * pooled_w), pooled_h, pooled_w},
      input.options());
}

at::Tensor input_grad(const char* name, const at::Tensor& grad, const at::Tensor& rois,
                      const c10::SymInt& pooled_h, const c10::SymInt& pooled_w,
                      c10::SymInt batch, c10::SymInt channels, c10::SymInt height,
                      c10::SymInt width) {
  check_backward_args(name, grad, rois, pooled_h, pooled_w, batch, channels, height, width);
  return at::empty_symint({batch, channels, height, width}, grad.options());
}

at::Tensor ps_roi_pool(const at::Tensor& input, const at::Tensor& rois, double,
                       c10::SymInt pooled_h, c10::SymInt pooled_w, bool) {
  return pooled_output("ps_roi_pool", input, rois, pooled_h, pooled_w);
}

at::Tensor ps_roi_align(const at::Tensor& input, const at::Tensor& rois, double,
                        c10::SymInt pooled_h, c10::SymInt pooled_w, int64_t) {
  return pooled_output("ps_roi_align", input, rois, pooled_h, pooled_w);
}

at::Tensor ps_roi_pool_backward(const at::Tensor& grad, const at::Tensor& rois, double,
                                c10::SymInt pooled_h, c10::SymInt pooled_w, c10::SymInt batch,
                                c10::SymInt channels, c10::SymInt height, c10::SymInt width,
                                bool) {
  return input_grad("ps_roi_pool_backward", grad, rois, pooled_h, pooled_w, batch, channels,
                    height, width);
}

at::Tensor ps_roi_align_backward(const at::Tensor& grad, const at::Tensor& rois, double,
                                 c10::SymInt pooled_h, c10::SymInt pooled_w, int64_t,
                                 c10::SymInt batch, c10::SymInt channels, c10::SymInt height,
                                 c10::SymInt width) {
  return input_grad("ps_roi_align_backward", grad, rois, pooled_h, pooled_w, batch, channels,
                    height, width);
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_psroi, Meta, m) {
  m.impl("ps_roi_pool", TORCH_FN(ps_roi_pool));
  m.impl("ps_roi_pool_backward", TORCH_FN(ps_roi_pool_backward));
  m.impl("ps_roi_align", TORCH_FN(ps_roi_align));
  m.impl("ps_roi_align_backward", TORCH_FN(ps_roi_align_backward));
}

}  // namespace meta
}  // namespace mmdet_psroi
