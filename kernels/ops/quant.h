// Weight-only quantized tensors (issue 17): make one from a weight, turn one back into f32
// (host) or bf16 (device), move one to a GPU, cut rows out of one, and the CPU view the ops pass
// to the reference kernels. The math is kernels/cpu/quant.h (CUDA twin kernels/cuda/quant.h);
// the formats and bytes kernels/core/quant_format.h. ops::linear and ops::moe take quantized
// weights on both backends.
#pragma once

#include "kernels/core/quant_format.h"
#include "kernels/core/tensor.h"
#include "kernels/cpu/quant.h"
#include "kernels/ops/device.h"

namespace mvl::ops {

// w: f32|bf16|f16 [out, in] (a [E, out, in] stack is quantized as E*out channels and keeps its
// shape). Returns the quantized tensor (Tensor::quant() set); f == plain returns w. A host w
// takes the CPU reference (what checkpoints and --quant at load use); a device w (bf16|f32)
// is quantized on the GPU with the same math (random benchmark weights).
Tensor quantize_weight(const Tensor& w, WeightFormat f);
// A host quantized tensor copied to dev (codes, scales, zeros); the CPU returns q.
Tensor quant_to_device(const Tensor& q, const DeviceContext& dev);
// Rows [row0, row1) of q's stacked output channels as a quantized tensor of `shape` (a view:
// how fused or packed experts are cut per expert).
Tensor quant_rows(const Tensor& q, int64_t row0, int64_t row1, const Shape& shape);
// The bytes a quantized tensor's codes take (nbytes() of the logical shape is not that).
int64_t quant_code_bytes(const Tensor& q);
// A device quantized tensor dequantized to a new device tensor of the same shape: bf16 (one
// rounding of the CPU's values) or f32 (the CPU's values exactly).
Tensor dequantize_to_bf16(const Tensor& q, DType dtype = DType::bf16);
// f32 [same shape] of a quantized tensor (a plain one is converted to f32).
Tensor dequantize_weight(const Tensor& q);
// The format and side tables of w for the cpu:: kernels ({} for a plain weight).
cpu::QuantView quant_view(const Tensor& w);
// Throws Error{unsupported} naming `op` when a quantized w and x are not on one device.
void check_quant_on_cpu(const Tensor& w, const Tensor& x, const char* op);

}  // namespace mvl::ops
