// Lightning (linear) attention with exponential decay, MiniMax-Text-01 (spec §6.4).
// Per head h with decay rate s_h (lambda = exp(-s_h)) and an f32 state S [d, d]
// (row = key dim, column = value dim), token by token:
//     S <- lambda * S + k_i^T v_i ;   o_i = q_i . S
// Three algorithms compute exactly this (in real arithmetic) and are tested against each
// other and against an fp64 recurrence:
//   quadratic  o_i = lambda^(i+1) q_i.S_in + sum_{j<=i} lambda^(i-j) (q_i.k_j) v_j   (O(n^2))
//   recurrent  the loop above (decode; a continuation token by token)
//   blockwise  the reference prefill: blocks of B tokens, intra-block masked decay
//              exp(-s(t-u)), inter-block exp(-s(t+1)) q_t.S_prev, right-aligned key decays
//              exp(-s(m-1-u)) and block decay exp(-s m) for a block of m tokens.
// Every decay is exp(-(s * t)) evaluated directly in f32 (never by repeated products).
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"

namespace mvl::ops {

// Arguments shared by the three forms:
//   q, k, v  f32 [n, H, d], last dim contiguous (strided views into the interleaved
//            qkv projection are fine), n >= 0
//   slopes   f32 [H] contiguous: s_h
//   state    f32 [H, d, d] contiguous, IN/OUT: the state after the previous token
//            (zeros at sequence start); overwritten with the state after token n-1.
// Each returns o f32 [n, H, d] contiguous.
// bf16 q/k/v on a CUDA device (the bf16 activation path; recurrent/blockwise only) return
// bf16 o: head dim 128 takes the tuned kernels (spec §6.4.4/6.4.5 precision, f32 state),
// other head dims the f32 recurrence between conversions. The state stays f32.
Tensor lightning_quadratic(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                           Tensor& state);
Tensor lightning_recurrent(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                           Tensor& state);
Tensor lightning_blockwise(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                           Tensor& state, int64_t block_size);

}  // namespace mvl::ops
