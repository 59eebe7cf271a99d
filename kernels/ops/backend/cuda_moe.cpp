// The CUDA branch of ops MoE (moe.h): router top-k, the generic expert-by-expert f32 path, and
// the fused bf16 MoE over packed experts (plain bf16 or quantized) with an f32 detour otherwise.
#include "kernels/cuda/moe.h"
#include "kernels/cuda/quant.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/backend/cuda_context.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/quant.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops::cuda_backend {

MoeRouting moe_route(const Tensor& logits, int64_t top_k) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&logits}, "moe_route");
  MoeRouting r{detail::dev_empty({logits.dim(0), top_k}, DType::i32, ctx),
               detail::dev_empty({logits.dim(0), top_k}, DType::f32, ctx)};
  cuda::moe_route_f32(*ctx, logits, top_k, r.experts, r.weights);
  return r;
}

Tensor moe_experts(const Tensor& x, const MoeRouting& routing, const std::vector<ExpertWeights>& experts) {
  const int64_t n = x.dim(0), H = x.dim(1), I = experts[0].w1.dim(0);
  const int64_t E = static_cast<int64_t>(experts.size());
  // Expert by expert in ascending order (the CPU's accumulation order); the routing stays
  // on the device, so tokens not routed to an expert are skipped inside the kernels.
  const detail::CtxPtr ctx = detail::cuda_ctx({&x, &routing.experts, &routing.weights}, "moe_experts");
  const Tensor ec = detail::dev_contiguous(routing.experts, ctx), wc = detail::dev_contiguous(routing.weights, ctx);
  Tensor out = detail::dev_empty({n, H}, DType::f32, ctx);
  Tensor h = detail::dev_empty({n, I}, DType::f32, ctx);
  // Quantized experts: each dequantized to bf16 for its call (the generic path; the tuned one
  // is moe() with packed experts).
  auto W = [](const Tensor& t) { return t.quant() ? ops::dequantize_to_bf16(t, DType::f32) : t; };
  for (int64_t e = 0; e < E; ++e)
    cuda::moe_expert_accumulate_f32(*ctx, x, ec, wc, static_cast<int32_t>(e), W(experts[e].w1), W(experts[e].w3),
                                    W(experts[e].w2), h, out);
  return out;
}

Tensor moe_bf16(const Tensor& x, const Tensor& gate, int64_t top_k, const std::vector<ExpertWeights>& experts,
                const PackedExperts* packed) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&x, &gate}, "moe");
  const int64_t E = gate.dim(0), H = x.dim(1);
  if (packed && packed->defined() && packed->w13.quant() && top_k == 2) {
    const cuda::QuantMoeWeights qw{gate.dtype() == DType::bf16 ? gate : ops::cast(gate, DType::bf16),
                                   cuda::quant_matrix(packed->w13), cuda::quant_matrix(packed->w2), E, H,
                                   packed->w13.dim(1) / 2};
    if (cuda::quant_moe_supported(qw)) {
      Tensor out = detail::dev_empty(x.shape(), DType::bf16, ctx);
      cuda::quant_moe_forward(*ctx, detail::dev_contiguous(x, ctx), qw, out);
      return out;
    }
  } else if (packed && packed->defined() && top_k == 2 && E >= 2 && E <= 32 && H % 8 == 0 &&
             packed->w13.dim(1) % 16 == 0) {
    const cuda::MoeWeights w{gate.dtype() == DType::bf16 ? gate : ops::cast(gate, DType::bf16), packed->w13,
                             packed->w2};
    Tensor out = detail::dev_empty(x.shape(), DType::bf16, ctx);
    cuda::moe_forward(*ctx, detail::dev_contiguous(x, ctx), w, out);
    return out;
  }
  const Tensor x32 = ops::cast(x, DType::f32);
  return ops::cast(ops::moe_experts(x32, ops::moe_route(ops::linear(x32, gate), top_k), experts), DType::bf16);
}

Tensor moe_expert_range(const Tensor& x, const Tensor& gate, const PackedExperts& packed, int64_t expert0) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&x, &gate}, "moe_expert_range");
  const int64_t E = gate.dim(0), H = x.dim(1);
  const cuda::QuantMoeRange r{
      cuda::QuantMoeWeights{gate.dtype() == DType::bf16 ? gate : ops::cast(gate, DType::bf16),
                            cuda::quant_matrix(packed.w13), cuda::quant_matrix(packed.w2), E, H,
                            packed.w13.dim(1) / 2},
      expert0, packed.w13.dim(0)};
  if (!cuda::quant_moe_range_supported(r)) return {};
  Tensor out = detail::dev_empty(x.shape(), DType::bf16, ctx);
  cuda::quant_moe_range_forward(*ctx, detail::dev_contiguous(x, ctx), r, out);
  return out;
}

}  // namespace mvl::ops::cuda_backend
