// Linear layers: y = x · Wᵀ (+ b), the PyTorch convention with W stored [out, in].
// Validates shapes/dtypes/devices once, then dispatches to cpu:: or cuda::.
#pragma once

#include <string>

#include "kernels/core/tensor.h"

namespace mvl::ops {

// x: f32 [n, in] (any leading dims are flattened into n; must be contiguous)
// w: f32|bf16 [out, in] (contiguous), bias: optional f32|bf16 [out]
// returns f32 [..., out] on x's device. Accumulates in f32.
// bf16 activations (x bf16 on a CUDA device): cuBLASLt bf16 GEMM with the bias fused,
// returns bf16 [..., out] (PyTorch bf16 semantics: one rounding of x·Wᵀ + b; in/out not
// multiples of 8: the f32 kernel, then that one rounding). The CPU
// refuses bf16 activations (Error{unsupported}).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor* bias = nullptr);

// A transformer block's residual branch: residual + x · Wᵀ (+ b), residual shaped like the
// output. bf16 activations on a CUDA device read the residual in the GEMM's epilogue (one bf16
// rounding of the sum where linear + add round twice); otherwise linear, then add.
Tensor linear_residual(const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor& residual);

// activation(x · Wᵀ + b) (activation.h names: gelu, quick_gelu, silu). bf16 activations on a
// CUDA device: the GEMM (bias in its epilogue), then the activation in place on its fresh
// output (the same two roundings as linear + activation, without the activation's copy);
// otherwise linear, then activation.
Tensor linear_act(const Tensor& x, const Tensor& w, const Tensor* bias, const std::string& act);

}  // namespace mvl::ops
