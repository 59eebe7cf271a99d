// Weight-only quantized tensors (issue 17): make one from a host weight, turn one back into
// f32, and the CPU view the ops pass to the reference kernels. The math is kernels/cpu/quant.h;
// the formats and bytes kernels/core/quant_format.h. CUDA kernels for these formats do not
// exist yet: the ops refuse a quantized weight on a GPU (Error{unsupported}).
#pragma once

#include "kernels/core/quant_format.h"
#include "kernels/core/tensor.h"
#include "kernels/cpu/quant.h"

namespace mvl::ops {

// w: host f32|bf16|f16 [out, in] (a [E, out, in] stack is quantized as E*out channels and
// keeps its shape). Returns the quantized tensor (Tensor::quant() set); f == plain returns w.
Tensor quantize_weight(const Tensor& w, WeightFormat f);
// f32 [same shape] of a quantized tensor (a plain one is converted to f32).
Tensor dequantize_weight(const Tensor& q);
// The format and side tables of w for the cpu:: kernels ({} for a plain weight).
cpu::QuantView quant_view(const Tensor& w);
// Throws Error{unsupported} naming `op` when w is quantized and on a GPU, or x is on a GPU.
void check_quant_on_cpu(const Tensor& w, const Tensor& x, const char* op);

}  // namespace mvl::ops
