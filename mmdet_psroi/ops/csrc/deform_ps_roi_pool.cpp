// Schemas of deformable PS RoI pooling (a fragment of the mmdet_psroi library, whose module
// is defined with the other ops) and the dispatcher entry points and checks of
// deform_ps_roi_pool.h. Kernels: cpu/, cuda/; autograd: autograd/; shapes for tracing: meta/.
#include "deform_ps_roi_pool.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/ScalarType.h>
#include <c10/util/Exception.h>
#include <torch/library.h>

#include "common/ps_roi_checks.h"

namespace mmdet_psroi {
namespace {

constexpr const char* kName = "deform_ps_roi_pool";

void check_offset(const at::Tensor& offset, const at::Tensor& rois,
                  const c10::SymInt& channels_out, int64_t sample_per_part) {
  TORCH_CHECK(sample_per_part > 0, kName, ": sample_per_part must be > 0, got ",
              sample_per_part);
  TORCH_CHECK(c10::isFloatingType(offset.scalar_type()), kName,
              ": offset must be a floating point tensor, got ", offset.scalar_type());
  TORCH_CHECK(offset.device() == rois.device(), kName, ": offset is on ", offset.device(),
              " but rois are on ", rois.device());
  TORCH_CHECK(offset.dim() == 4 && offset.sym_size(0) == rois.sym_size(0) &&
                  offset.sym_size(1) % 2 == 0,
              kName, ": offset must have shape (K, 2 * G, parts_h, parts_w) with K = ",
              rois.sym_size(0), " RoIs (G = 0: no offsets), got ", offset.sym_sizes());
  const c10::SymInt groups = offset.sym_size(1) / 2;
  TORCH_CHECK(groups == 0 || (offset.sym_size(2) > 0 && offset.sym_size(3) > 0 &&
                              channels_out % groups == 0),
              kName, ": offset has ", groups, " groups of ", offset.sym_size(2), "x",
              offset.sym_size(3), " parts; expected parts > 0 and a group count that divides the ",
              channels_out, " output channels");
}

}  // namespace

at::Tensor deform_ps_roi_pool_symint(const at::Tensor& input, const at::Tensor& rois,
                                     const at::Tensor& offset, double spatial_scale,
                                     c10::SymInt pooled_height, c10::SymInt pooled_width,
                                     int64_t sample_per_part, double trans_std, bool original) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("mmdet_psroi::deform_ps_roi_pool", "")
                       .typed<decltype(deform_ps_roi_pool_symint)>();
  return op.call(input, rois, offset, spatial_scale, std::move(pooled_height),
                 std::move(pooled_width), sample_per_part, trans_std, original);
}

std::tuple<at::Tensor, at::Tensor> deform_ps_roi_pool_backward_symint(
    const at::Tensor& grad, const c10::optional<at::Tensor>& input, const at::Tensor& rois,
    const at::Tensor& offset, double spatial_scale, c10::SymInt pooled_height,
    c10::SymInt pooled_width, int64_t sample_per_part, double trans_std, c10::SymInt batch,
    c10::SymInt channels, c10::SymInt height, c10::SymInt width, bool original) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("mmdet_psroi::deform_ps_roi_pool_backward", "")
                       .typed<decltype(deform_ps_roi_pool_backward_symint)>();
  return op.call(grad, input, rois, offset, spatial_scale, std::move(pooled_height),
                 std::move(pooled_width), sample_per_part, trans_std, std::move(batch),
                 std::move(channels), std::move(height), std::move(width), original);
}

void check_deform_forward_args(const at::Tensor& input, const at::Tensor& rois,
                               const at::Tensor& offset, const c10::SymInt& pooled_height,
                               const c10::SymInt& pooled_width, int64_t sample_per_part) {
  check_forward_args(kName, input, rois, pooled_height, pooled_width);
  check_offset(offset, rois, input.sym_size(1) / (pooled_height * pooled_width),
               sample_per_part);
}

void check_deform_backward_args(const at::Tensor& grad, const c10::optional<at::Tensor>& input,
                                const at::Tensor& rois, const at::Tensor& offset,
                                const c10::SymInt& pooled_height,
                                const c10::SymInt& pooled_width, int64_t sample_per_part,
                                const c10::SymInt& batch, const c10::SymInt& channels,
                                const c10::SymInt& height, const c10::SymInt& width) {
  check_backward_args(kName, grad, rois, pooled_height, pooled_width, batch, channels, height,
                      width);
  check_offset(offset, rois, channels / (pooled_height * pooled_width), sample_per_part);
  if (!input.has_value() || !input->defined()) return;
  TORCH_CHECK(input->dim() == 4 && input->sym_size(0) == batch &&
                  input->sym_size(1) == channels && input->sym_size(2) == height &&
                  input->sym_size(3) == width,
              kName, ": input must have the given sizes (", batch, ", ", channels, ", ", height,
              ", ", width, "), got ", input->sym_sizes());
  TORCH_CHECK(input->scalar_type() == grad.scalar_type() && input->device() == grad.device(),
              kName, ": input (", input->scalar_type(), " on ", input->device(),
              ") must have grad's dtype and device (", grad.scalar_type(), " on ",
              grad.device(), ")");
}

DeformShape deform_shape(int64_t batch, int64_t channels, int64_t height, int64_t width,
                         const at::Tensor& offset, int64_t pooled_height, int64_t pooled_width,
                         int64_t sample_per_part) {
  return DeformShape{batch,          channels,       height,         width,
                     pooled_height,  pooled_width,   offset.size(1) / 2,
                     offset.size(2), offset.size(3), sample_per_part};
}

}  // namespace mmdet_psroi

TORCH_LIBRARY_FRAGMENT(mmdet_psroi, m) {
  m.def("deform_ps_roi_pool(Tensor input, Tensor rois, Tensor offset, float spatial_scale, "
        "SymInt pooled_height, SymInt pooled_width, int sample_per_part, float trans_std, "
        "bool original=False) -> Tensor");
  m.def("deform_ps_roi_pool_backward(Tensor grad, Tensor? input, Tensor rois, Tensor offset, "
        "float spatial_scale, SymInt pooled_height, SymInt pooled_width, int sample_per_part, "
        "float trans_std, SymInt batch_size, SymInt channels, SymInt height, SymInt width, "
        "bool original=False) -> (Tensor, Tensor)");
}
