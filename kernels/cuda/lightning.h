// Lightning (linear, decayed) attention on CUDA: blockwise prefill with an fp32
// state in/out, and the batched recurrent decode step (spec §6.4.3-6.4.5). Head dim 128.
// Semantics per head with λ = exp(-s_h): S ← λS + kᵀv ; o = q·S (no scale, no softmax).
#pragma once

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// Prefill kernel variants (the `variant` argument of lightning_prefill); all compute the same
// function up to rounding (bf16 operands, fp32 accumulation and state).
inline constexpr int kLightningPrefillDefault = 0;  // the tuned default (lightning.cu)
inline constexpr int kLightningPrefillWs = 1;       // warp-specialised 8-warp mma.sync kernel
inline constexpr int kLightningPrefillDv32 = 32;    // plain 4-warp kernel, 32 value columns/CTA
inline constexpr int kLightningPrefillDv64 = 64;    // plain 4-warp kernel, 64 value columns/CTA
// sm_90a wgmma kernels (lightning_sm90.cu) with 2, 3 or 4 cp.async stages; Sm90S*: the state
// update reads a decayed copy of V from shared memory and Kᵀ transposed by the wgmma;
// Sm90R*: it takes decayed Kᵀ as register fragments; Sm90W*: as R, on a second warpgroup
// beside the one computing the outputs. Compute capability 9.x only: an explicit request
// elsewhere is an error; an sm90 default (kDefaultPrefillVariant) falls back to Ws there.
inline constexpr int kLightningPrefillSm90S2 = 902;
inline constexpr int kLightningPrefillSm90S3 = 903;
inline constexpr int kLightningPrefillSm90S4 = 904;
inline constexpr int kLightningPrefillSm90R2 = 912;
inline constexpr int kLightningPrefillSm90R3 = 913;
inline constexpr int kLightningPrefillSm90R4 = 914;
inline constexpr int kLightningPrefillSm90W2 = 922;
inline constexpr int kLightningPrefillSm90W3 = 923;
inline constexpr int kLightningPrefillSm90W4 = 924;

// Whether `variant` runs on ctx's GPU (the sm90 ones need compute capability 9.x).
bool lightning_prefill_variant_available(const Context& ctx, int variant);

// q, k, v, o: bf16 [T, H, 128] views (last dim contiguous; token and head strides free,
// multiples of 8 elements, so q/k/v can point straight into the fused SiLU(qkv) buffer).
// slopes: f32 [H] on the device (s_h > 0). state: f32 [S, H, 128, 128] contiguous, read
// as the initial state (zeros for a fresh sequence) and overwritten with the final one.
// cu_seqlens: i32 [S + 1] on the device (token offsets of S packed sequences), or an
// undefined Tensor for one sequence of T tokens (then S must be 1).
// variant: one of the kLightningPrefill* values above.
void lightning_prefill(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                       const Tensor& slopes, const Tensor& state, const Tensor& o,
                       const Tensor& cu_seqlens = Tensor(), int variant = kLightningPrefillDefault);

// One decode step for B sequences: q, k, v, o: bf16 [B, H, 128] views; state f32
// [B, H, 128, 128] updated in place (S ← λS + kᵀv, then o = q·S). No host sync; graph-safe.
void lightning_decode(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      const Tensor& slopes, const Tensor& state, const Tensor& o);

// f32 activations, any head dim (the generic path; CPU twin: the recurrent form in
// kernels/cpu/lightning.h).
// Lightning recurrence token by token (S ← λS + kᵀv; o = q·S), any d <= 256.
// q, k, v f32 [n, H, d] views (contiguous last dim); slopes f32 [H]; state f32 [H, d, d]
// in/out; o f32 [n, H, d] contiguous.
void lightning_recurrent_f32(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                             const Tensor& slopes, const Tensor& state, const Tensor& o);

}  // namespace mvl::cuda
