// Mixture-of-experts FFN on CUDA (spec §6.6): router softmax + top-2 (lowest index wins
// ties) + renormalise, token permute by expert, expert SwiGLU GEMMs, weighted unpermute.
#pragma once

#include <functional>
#include <string>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// Expert weights packed once at load: w13 = [w1 (gate); w3 (up)] rows, w2 = down.
struct MoeWeights {
  Tensor router;  // bf16 [E, D]       block_sparse_moe.gate.weight
  Tensor w13;     // bf16 [E, 2F, D]   experts.{e}.w1.weight rows then experts.{e}.w3.weight rows
  Tensor w2;      // bf16 [E, D, F]    experts.{e}.w2.weight
};

// logits: f32 [n, E] -> idx: i32 [n, 2] (descending probability), weights: f32 [n, 2]
// (renormalised over the two). Softmax in f32.
void moe_route(const Context& ctx, const Tensor& logits, const Tensor& idx, const Tensor& weights);

// out: bf16 [n, D] = MoE(x), x: bf16 [n, D]. n <= kMoeDecodeMaxTokens takes the decode
// path; larger n takes the prefill path (cuBLASLt GEMM per expert; one host sync to read
// the expert counts).
// Decode design (batch 1 is bound by streaming two experts' 0.34 GB each from HBM; no
// host sync, graph-capturable): (1) router GEMV, a CTA per expert, D split over 256 threads;
// (2) one CTA routes every token and builds the per-expert token lists; then for n <= 4
// (every expert has <= 4 tokens) (3) gate/up GEMV + SiLU*up and (4) down GEMV + the two
// experts' weighted sum in ascending order + bf16 store, both split-K over 256 threads with
// each thread's 16-byte weight loads for a row issued at once (one round trip per row at
// the released dims, short-lived CTAs: short grid tail) and no atomics. 5..64 tokens stage
// an expert's tokens in shared memory and sum the experts with f32 atomic adds instead.
constexpr int64_t kMoeDecodeMaxTokens = 64;
void moe_forward(const Context& ctx, const Tensor& x, const MoeWeights& w, const Tensor& out);

// Knobs of the n <= 4 decode kernels, for the benchmark to compare; results are bit-identical
// for every setting. gate_rows / down_rows: rows per CTA (1 or 2); load_hint for the
// streamed weights: 0 plain read-only loads, 1 L1::no_allocate + L2 256-byte prefetch,
// 2 = 1 plus an L2 evict-first policy. H200, batch 1 (graph): the defaults 1/1/1 and 2/1/1
// 0.179 ms, hints 0 and 2 +0.3%, 2 rows of down +3-4%.
// mma_min_tokens: batches of n >= this (1..64) take the tensor-core kernels of
// moe_decode_mma.cu instead (65 = never: the CUDA-core kernels above); mma_variant picks their
// tiling (0..7, moe_mma::variant: warps splitting K, 16-row tiles per warp, k-steps of loads in
// flight, 8-token columns per pass). Those results are not bit-identical to the CUDA-core
// kernels' (other summation order), but meet the same parity rule. moe_forward without a
// tuning uses moe.cu's kProductMmaMinTokens / kProductMmaVariant (the engine's choice).
struct MoeDecodeTuning {
  int gate_rows = 1;
  int down_rows = 1;
  int load_hint = 1;
  int mma_min_tokens = 65;
  int mma_variant = 0;
};
// The tilings of the tensor-core decode kernels (for the benchmark's labels): "ks4 mt2 u2 nt2".
constexpr int kMoeMmaVariants = 8;
std::string moe_mma_variant_name(int variant);
void moe_forward(const Context& ctx, const Tensor& x, const MoeWeights& w, const Tensor& out,
                 const MoeDecodeTuning& tuning);

// The pieces moe_forward is made of, for the weight-only quantized experts (quant_moe.cu):
// the decode routing for 1 <= n <= kMoeDecodeMaxTokens (router GEMV + one-CTA route and
// per-expert lists into device buffers: logits f32 [n * E], wts f32 [2n], offsets i32 [E + 1],
// perm i32 [2n], active i32 [E + 1]; see moe.cu's decode_route_sort_kernel) ...
void moe_decode_route(const Context& ctx, const Tensor& x, const Tensor& router, float* logits,
                      float* wts, int32_t* offsets, int32_t* perm, int32_t* active);
// ... and the prefill path with each expert's bf16 weights given by a callback: w13_of(e) ->
// device bf16 [2F, D] (gate rows then up rows), w2_of(e) -> [D, F]. A pointer is used by the
// GEMM enqueued right after the call (experts in ascending order, all w13 first, then all w2),
// so one reused buffer per callback is enough. Uses the context's scratch arena.
using ExpertWeightFn = std::function<const void*(int64_t e)>;
void moe_prefill(const Context& ctx, const Tensor& x, const Tensor& router, int64_t F,
                 const ExpertWeightFn& w13_of, const ExpertWeightFn& w2_of, const Tensor& out);
// The same with each expert's GEMM itself given by a callback (the FP8 path of quant_moe.cu
// quantizes the expert's activation rows first): gate_up(e, xe, ye) writes ye = xe . [w1; w3]_e^T
// (xe bf16 [c, D] = expert e's gathered token rows, ye bf16 [c, 2F]), down(e, he, ye) writes
// ye = he . w2_e^T (he bf16 [c, F], ye bf16 [c, D]); all contiguous slices of moe_prefill's
// scratch, c >= 1. Called in moe_prefill's order (all gate_up in ascending e, then all down).
// rows_hook, when set, is called once before the gate_up calls with all gathered rows (xs bf16
// [2n, D], expert e's at [offsets[e], offsets[e + 1]), offsets a device array of E + 1) and once
// before the down calls with all SwiGLU rows (h bf16 [2n, F], same offsets): the FP8 path
// quantizes them there in one launch each, so that nothing runs between the experts' GEMMs.
using ExpertGemmFn = std::function<void(int64_t e, const Tensor& x_rows, const Tensor& y_rows)>;
using ExpertRowsFn = std::function<void(const Tensor& rows, const int32_t* offsets)>;
void moe_prefill(const Context& ctx, const Tensor& x, const Tensor& router, int64_t F,
                 const ExpertGemmFn& gate_up, const ExpertGemmFn& down, const Tensor& out,
                 const ExpertRowsFn& rows_hook = {});

// The f32 generic path (moe_f32.cu; f32 activations, f32|bf16 weights): routing, then one call
// per expert.
// logits f32 [n, E] -> experts i32 [n, k], weights f32 [n, k] (CPU rule: stable descending).
void moe_route_f32(const Context& ctx, const Tensor& logits, int64_t k, const Tensor& experts,
                   const Tensor& weights);
// out[t] += weight(t, e) * W2 (silu(W1 x_t) * (W3 x_t)) for the tokens routed to expert e.
// x, out f32 [n, H]; h f32 [n, I] scratch; w1, w3 [I, H], w2 [H, I] f32|bf16.
void moe_expert_accumulate_f32(const Context& ctx, const Tensor& x, const Tensor& experts,
                               const Tensor& weights, int32_t e, const Tensor& w1, const Tensor& w3,
                               const Tensor& w2, const Tensor& h, const Tensor& out);

}  // namespace mvl::cuda
