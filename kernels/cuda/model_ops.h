// Generic f32-activation CUDA kernels behind ops:: for device tensors: any head dim, any
// hidden size, every sm_80+ GPU. They mirror the CPU reference op for op (f32 activations,
// f32 accumulation, f32|bf16 weights) so the same TextModel code gives the CPU's tokens on
// CUDA. The tuned bf16 kernels (gemm.h, lightning.h, attention.h, moe.h) are the fast path
// at the released dimensions; these are the always-available path. All enqueue on
// ctx.stream() and never synchronise the host.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// A new zero-filled contiguous device tensor whose storage keeps `ctx` alive, so ops on it
// (and on views of it) find their stream through context_of().
Tensor empty_with(const Shape& shape, DType dtype, const std::shared_ptr<const Context>& ctx);
// Same without the zero fill, for outputs a kernel overwrites entirely (saves a memset
// launch per op on the bf16 decode path).
Tensor empty_uninit_with(const Shape& shape, DType dtype, const std::shared_ptr<const Context>& ctx);
// The context a device tensor was allocated with (nullptr for host tensors or tensors
// allocated through the plain cuda::empty).
std::shared_ptr<const Context> context_of(const Tensor& t);

// dst = src elementwise (same shape/dtype, 2- or 4-byte elements, up to 4 dims, any strides).
void copy_strided(const Context& ctx, const Tensor& dst, const Tensor& src);
// y[n, out] = x[n, in] · w[out, in]ᵀ; x, y f32 contiguous; w f32|bf16 contiguous.
void linear_f32(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& y);
// out = alpha*a + beta*b (b may be undefined: out = alpha*a). f32 contiguous.
void axpby_f32(const Context& ctx, const Tensor& a, float alpha, const Tensor& b, float beta,
               const Tensor& out);
void mul_f32(const Context& ctx, const Tensor& a, const Tensor& b, const Tensor& out);
// "silu", "sigmoid", "gelu", "quick_gelu"; f32 contiguous.
void activation_f32(const Context& ctx, const Tensor& x, const std::string& name, const Tensor& out);
// x, y: f32 [rows, D] contiguous; w f32|bf16 [D].
void rms_norm_f32(const Context& ctx, const Tensor& x, const Tensor& w, float eps, bool round_bf16,
                  const Tensor& y);
// table f32|bf16 [V, H]; ids i32 [n] on the device; out f32 [n, H].
void embedding_f32(const Context& ctx, const Tensor& table, const Tensor& ids, const Tensor& out);
// x f32 [n, H, d] (contiguous last dim) -> out f32 [n, H, d] contiguous; rotary_dim <= 128.
// Token t sits at pos0 + t, or at positions[t] when positions (i32 [n] on the device) is given.
void rope_f32(const Context& ctx, const Tensor& x, int64_t pos0, int64_t rotary_dim, double theta,
              const Tensor& out, const Tensor& positions = Tensor());
// Lightning recurrence token by token (S ← λS + kᵀv; o = q·S), any d <= 256.
// q, k, v f32 [n, H, d] views (contiguous last dim); slopes f32 [H]; state f32 [H, d, d]
// in/out; o f32 [n, H, d] contiguous.
void lightning_recurrent_f32(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                             const Tensor& slopes, const Tensor& state, const Tensor& o);
// Softmax attention, f32 scores, GQA, optional causal with q_offset. q [nq, H, d], k/v
// [nk, Hkv, d] views (contiguous last dim); o f32 [nq, H, d] contiguous.
// kv_len: optional i32 [1] on the device: only keys [0, kv_len) are used and q_offset becomes
// kv_len - n_q (decode over a cache whose length lives in device memory; graph-safe).
void attention_f32(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                   bool causal, int64_t q_offset, const Tensor& o, const Tensor& kv_len = Tensor());
// logits f32 [n, E] -> experts i32 [n, k], weights f32 [n, k] (CPU rule: stable descending).
void moe_route_f32(const Context& ctx, const Tensor& logits, int64_t k, const Tensor& experts,
                   const Tensor& weights);
// out[t] += weight(t, e) * W2 (silu(W1 x_t) * (W3 x_t)) for the tokens routed to expert e.
// x, out f32 [n, H]; h f32 [n, I] scratch; w1, w3 [I, H], w2 [H, I] f32|bf16.
void moe_expert_accumulate_f32(const Context& ctx, const Tensor& x, const Tensor& experts,
                               const Tensor& weights, int32_t e, const Tensor& w1, const Tensor& w3,
                               const Tensor& w2, const Tensor& h, const Tensor& out);
}  // namespace mvl::cuda
