// Activation precision: parsing, names and the per-device default (see precision.h).
#include "kernels/ops/precision.h"

#include "kernels/core/error.h"

namespace mvl::ops {

Precision parse_precision(const std::string& s) {
  if (s == "f32" || s == "fp32" || s == "float32") return Precision::f32;
  if (s == "bf16" || s == "bfloat16") return Precision::bf16;
  throw Error(ErrorCategory::invalid_argument,
              fmt::format("unknown precision '{}': use f32 (exact, CPU parity) or bf16 (fast, GPU only)", s));
}

const char* precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "f32"; }

Precision default_precision(const DeviceContext& dev) { return dev.is_cuda() ? Precision::bf16 : Precision::f32; }

Precision resolve_precision(std::optional<Precision> requested, const DeviceContext& dev) {
  const Precision p = requested.value_or(default_precision(dev));
  MVL_CHECK(p == Precision::f32 || dev.is_cuda(), unsupported,
            "bf16 activations run only on a CUDA device; use precision f32 on the CPU");
  return p;
}

}  // namespace mvl::ops
