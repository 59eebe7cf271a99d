// Activation precision, an explicit load-time choice for both model halves (the text model's
// TextModelOptions::precision, the ViT's activation dtype through the engine):
//   f32  : f32 activations (bf16 weights on a GPU), op for op the CPU reference; the only
//          choice on the CPU. The CPU keeps the checkpoint's weights as stored, a GPU rounds
//          f32/f16 weights to bf16 at upload: GPU f32 = CPU only for bf16 checkpoints.
//   bf16 : bf16 activations with PyTorch/transformers bf16 semantics (each op's output rounded
//          to bf16) on the tuned CUDA kernels: the fast path, and the CUDA default.
// Logits are returned as f32 either way.
#pragma once

#include <optional>
#include <string>

#include "kernels/core/dtype.h"
#include "kernels/ops/device.h"

namespace mvl::ops {

enum class Precision { f32, bf16 };

// "f32" | "bf16"; throws Error{invalid_argument} naming the accepted values otherwise.
Precision parse_precision(const std::string& s);
const char* precision_name(Precision p);
// The default for a device: bf16 on CUDA, f32 on the CPU.
Precision default_precision(const DeviceContext& dev);
// The choice for dev (the default when unset); throws Error{unsupported} for bf16 on the CPU.
Precision resolve_precision(std::optional<Precision> requested, const DeviceContext& dev);
inline DType activation_dtype(Precision p) { return p == Precision::bf16 ? DType::bf16 : DType::f32; }

}  // namespace mvl::ops
