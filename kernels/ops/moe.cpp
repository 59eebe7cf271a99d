// ops MoE: validation and dispatch; expert packing for the CUDA bf16 path.
#include "kernels/ops/moe.h"
#include "kernels/ops/quant.h"

#include "kernels/core/error.h"
#include "kernels/cpu/moe.h"

#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops {

namespace {
// One expert's three matrices: w1 and w3 [I, H], w2 [H, I]; `op` names the caller.
void check_expert(const ExpertWeights& w, int64_t e, int64_t I, int64_t H, const char* op) {
  const std::string what = fmt::format("{}: expert {} ", op, e);
  check_shape(w.w1, {I, H}, what + "w1");
  check_shape(w.w3, {I, H}, what + "w3");
  check_shape(w.w2, {H, I}, what + "w2");
}
}  // namespace

MoeRouting moe_route(const Tensor& logits, int64_t top_k) {
  MVL_CHECK(logits.ndim() == 2 && logits.dtype() == DType::f32 && logits.is_contiguous(), unsupported,
            "moe_route: logits must be contiguous f32 [n, experts], got {}", logits.str());
  MVL_CHECK(top_k >= 1 && top_k <= logits.dim(1), invalid_argument,
            "moe_route: top_k {} must be in [1, {} experts]", top_k, logits.dim(1));
  if (detail::any_cuda({&logits})) return cuda_backend::moe_route(logits, top_k);
  MVL_CHECK(logits.device().is_cpu(), unsupported, "moe_route: device tensors go through the CUDA backend");
  MoeRouting r{Tensor::empty({logits.dim(0), top_k}, DType::i32), Tensor::empty({logits.dim(0), top_k}, DType::f32)};
  cpu::moe_route(logits.data<float>(), logits.dim(0), logits.dim(1), top_k, r.experts.data<int32_t>(),
                 r.weights.data<float>());
  return r;
}

Tensor silu_mul(const Tensor& gate, const Tensor& up) {
  MVL_CHECK(gate.shape() == up.shape() && gate.dtype() == DType::f32 && up.dtype() == DType::f32, shape_mismatch,
            "silu_mul: gate {} and up {} must be f32 of one shape", gate.str(), up.str());
  MVL_CHECK(gate.device().is_cpu() && up.device().is_cpu(), unsupported,
            "silu_mul: device tensors go through the CUDA backend");
  Tensor g = contiguous(gate), u = contiguous(up);
  Tensor out = Tensor::empty(gate.shape(), DType::f32);
  cpu::silu_mul(g.data<float>(), u.data<float>(), out.data<float>(), gate.numel());
  return out;
}

Tensor moe_experts(const Tensor& x, const MoeRouting& routing, const std::vector<ExpertWeights>& experts) {
  MVL_CHECK(x.ndim() == 2 && x.dtype() == DType::f32 && x.is_contiguous(), unsupported,
            "moe_experts: input must be contiguous f32 [n, hidden], got {}", x.str());
  MVL_CHECK(!experts.empty(), invalid_argument, "moe_experts: no experts");
  const int64_t n = x.dim(0), H = x.dim(1), I = experts[0].w1.dim(0);
  MVL_CHECK(routing.experts.ndim() == 2 && routing.experts.dim(0) == n && routing.experts.dtype() == DType::i32 &&
                routing.weights.shape() == routing.experts.shape() && routing.weights.dtype() == DType::f32,
            shape_mismatch, "moe_experts: routing {} / {} does not match {} tokens", routing.experts.str(),
            routing.weights.str(), n);
  const int64_t k = routing.experts.dim(1);
  const int64_t E = static_cast<int64_t>(experts.size());
  std::vector<cpu::ExpertPtrs> ptrs;
  for (int64_t e = 0; e < E; ++e) {
    const ExpertWeights& w = experts[e];
    check_expert(w, e, I, H, "moe_experts");
    for (const Tensor* t : {&w.w1, &w.w3, &w.w2}) {
      check_quant_on_cpu(*t, x, "moe_experts");
      MVL_CHECK(t->is_contiguous() && (t->quant() || t->dtype() == DType::f32 || t->dtype() == DType::bf16) &&
                    t->device() == x.device(),
                unsupported, "moe_experts: expert {} weights must be contiguous f32|bf16 tensors on {}, got {}",
                e, x.device().str(), t->str());
    }
    ptrs.push_back({w.w1.data(), w.w3.data(), w.w2.data(), w.w1.dtype(), w.w3.dtype(), w.w2.dtype(),
                    quant_view(w.w1), quant_view(w.w3), quant_view(w.w2)});
  }
  if (detail::any_cuda({&x, &routing.experts, &routing.weights}))
    return cuda_backend::moe_experts(x, routing, experts);
  MVL_CHECK(x.device().is_cpu(), unsupported, "moe_experts: device tensors go through the CUDA backend");
  Tensor ec = contiguous(routing.experts), wc = contiguous(routing.weights);
  const int32_t* ids = ec.data<int32_t>();
  for (int64_t i = 0; i < n * k; ++i)
    MVL_CHECK(ids[i] >= -1 && ids[i] < E, invalid_argument, "moe_experts: expert id {} outside [-1, {})", ids[i], E);
  Tensor out = Tensor::empty({n, H}, DType::f32);
  cpu::moe_experts(x.data<float>(), n, H, I, ids, wc.data<float>(), k, ptrs, out.data<float>());
  return out;
}

namespace {
// Quantized experts packed like the bf16 ones: w13 codes [E, 2I, H] (+ scales/zeros [E*2I, g]),
// w2 [E, H, I], one expert at a time through a temporary device copy.
PackedExperts pack_quantized_experts(const std::vector<ExpertWeights>& experts, const DeviceContext& dev,
                                     std::vector<ExpertWeights>* views) {
  const int64_t E = static_cast<int64_t>(experts.size()), I = experts[0].w1.dim(0), H = experts[0].w1.dim(1);
  const WeightFormat f = experts[0].w1.quant()->format;
  auto make = [&](const Shape& shape) {
    const int64_t in = shape.back(), rows = shape_numel(shape) / in;
    const Tensor codes = empty({rows * cpu::quant_code_bytes_per_row(f, in)}, DType::u8, dev);
    auto p = std::make_shared<QuantParams>();
    p->format = f;
    p->scales = empty({rows, cpu::quant_scales_per_row(f, in)}, DType::f32, dev);
    if (f == WeightFormat::int4) p->zeros = empty({rows, cpu::quant_scales_per_row(f, in)}, DType::f32, dev);
    return Tensor(codes.storage(), codes.offset_bytes(), shape, contiguous_strides(shape),
                  experts[0].w1.dtype())
        .with_quant(p);
  };
  PackedExperts p{make({E, 2 * I, H}), make({E, H, I})};
  // Copies one quantized matrix (host or device) into rows [row0, ...) of a packed one.
  auto put = [&](const Tensor& dst, int64_t row0, const Tensor& src) {
    MVL_CHECK(src.quant() && src.quant()->format == f, unsupported,
              "pack_experts: experts mix formats ({} and {})", weight_format_name(f),
              src.quant() ? weight_format_name(src.quant()->format) : "plain");
    const Tensor s = quant_to_device(src, dev);
    const int64_t in = s.dim(-1), rows = s.numel() / in, cb = cpu::quant_code_bytes_per_row(f, in);
    const Tensor dflat(dst.storage(), dst.offset_bytes() + static_cast<size_t>(row0 * cb), {rows * cb}, {1},
                       DType::u8);
    const Tensor sflat(s.storage(), s.offset_bytes(), {rows * cb}, {1}, DType::u8);
    copy_into(dflat, sflat);
    copy_into(dst.quant()->scales.slice(0, row0, row0 + rows), s.quant()->scales);
    if (f == WeightFormat::int4) copy_into(dst.quant()->zeros.slice(0, row0, row0 + rows), s.quant()->zeros);
  };
  views->clear();
  for (int64_t e = 0; e < E; ++e) {
    const ExpertWeights& w = experts[e];
    check_expert(w, e, I, H, "pack_experts");
    put(p.w13, e * 2 * I, w.w1);
    put(p.w13, e * 2 * I + I, w.w3);
    put(p.w2, e * H, w.w2);
    views->push_back(ExpertWeights{quant_rows(p.w13, e * 2 * I, e * 2 * I + I, {I, H}),
                                   quant_rows(p.w13, e * 2 * I + I, (e + 1) * 2 * I, {I, H}),
                                   quant_rows(p.w2, e * H, (e + 1) * H, {H, I})});
  }
  return p;
}
}  // namespace

PackedExperts pack_experts(const std::vector<ExpertWeights>& experts, const DeviceContext& dev,
                           std::vector<ExpertWeights>* views) {
  MVL_CHECK(views != nullptr, invalid_argument, "pack_experts: no output for the expert views");
  if (!dev.is_cuda() || experts.empty()) {
    *views = experts;
    return {};
  }
  const int64_t E = static_cast<int64_t>(experts.size()), I = experts[0].w1.dim(0), H = experts[0].w1.dim(1);
  if (experts[0].w1.quant()) return pack_quantized_experts(experts, dev, views);
  PackedExperts p{empty({E, 2 * I, H}, DType::bf16, dev), empty({E, H, I}, DType::bf16, dev)};
  views->clear();
  for (int64_t e = 0; e < E; ++e) {
    const ExpertWeights& w = experts[e];
    check_expert(w, e, I, H, "pack_experts");
    const Tensor w13 = p.w13.select(0, e);  // [2I, H]
    ExpertWeights v{w13.slice(0, 0, I), w13.slice(0, I, 2 * I), p.w2.select(0, e)};
    // One expert at a time through a temporary device copy (bf16), then into its slot.
    copy_into(v.w1, to_device_weight(w.w1, dev));
    copy_into(v.w3, to_device_weight(w.w3, dev));
    copy_into(v.w2, to_device_weight(w.w2, dev));
    views->push_back(std::move(v));
  }
  return p;
}

Tensor moe(const Tensor& x, const Tensor& gate, int64_t top_k, const std::vector<ExpertWeights>& experts,
           const PackedExperts* packed) {
  MVL_CHECK(x.ndim() == 2 && gate.ndim() == 2 && gate.dim(1) == x.dim(1) &&
                gate.dim(0) == static_cast<int64_t>(experts.size()),
            shape_mismatch, "moe: input {} / router {} / {} experts do not fit together", x.str(), gate.str(),
            experts.size());
  if (detail::bf16_dev(x)) return cuda_backend::moe_bf16(x, gate, top_k, experts, packed);
  return moe_experts(x, moe_route(linear(x, gate), top_k), experts);
}

Tensor local_expert_ids(const Tensor& ids, int64_t e0, int64_t e1) {
  MVL_CHECK(ids.dtype() == DType::i32 && ids.ndim() == 2, invalid_argument,
            "local_expert_ids: ids must be int32 [n, k], got {} {}", dtype_name(ids.dtype()), shape_str(ids.shape()));
  MVL_CHECK(0 <= e0 && e0 <= e1, invalid_argument, "local_expert_ids: expert range [{}, {})", e0, e1);
  Tensor h = contiguous(ids.device().is_cpu() ? ids : to_device(ids, Device::cpu()));
  if (h.data() == ids.data()) h = clone(h);  // never write the caller's tensor
  int32_t* p = h.data<int32_t>();
  for (int64_t i = 0; i < h.numel(); ++i) p[i] = p[i] >= e0 && p[i] < e1 ? static_cast<int32_t>(p[i] - e0) : -1;
  return h;
}

}  // namespace mvl::ops
