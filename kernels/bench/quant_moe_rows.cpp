// run_quant_moe_bench (quant_moe_rows.h): one MoE layer's random bf16 experts, quantized on
// the GPU per format; decode n = 1 timed as graph replays (the decode path is sync-free),
// prefill as plain repetitions (it reads the expert counts on the host).
#include "kernels/bench/quant_moe_rows.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "kernels/bench/timing.h"
#include "kernels/core/error.h"
#include "kernels/cuda/context.h"
#include "kernels/cuda/fp8_gemm.h"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/quant.h"
#include "kernels/cuda/storage.h"

namespace mvl::cuda {

namespace {

struct QuantExperts {
  Tensor c13, s13, z13, c2, s2, z2;
  QuantMoeWeights w;
};

QuantExperts quantize_experts(const Context& ctx, const MoeWeights& b, WeightFormat f) {
  const int64_t E = b.w13.dim(0), F = b.w13.dim(1) / 2, D = b.w13.dim(2);
  QuantExperts q;
  auto make = [&](const Tensor& w, int64_t rows, int64_t in, Tensor& c, Tensor& s, Tensor& z,
                  QuantMatrix& m) {
    c = empty({rows * quant_row_bytes(f, in)}, DType::u8, ctx);
    s = empty({rows * quant_row_scales(f, in)}, DType::f32, ctx);
    if (f == WeightFormat::int4) z = empty({rows * quant_row_scales(f, in)}, DType::f32, ctx);
    quantize_rows(ctx, w.view({rows, in}), f, static_cast<uint8_t*>(c.data()),
                  static_cast<float*>(s.data()),
                  z.defined() ? static_cast<float*>(z.data()) : nullptr);
    m = {f,
         static_cast<const uint8_t*>(c.data()),
         static_cast<const float*>(s.data()),
         z.defined() ? static_cast<const float*>(z.data()) : nullptr,
         rows,
         in};
  };
  make(b.w13, E * 2 * F, D, q.c13, q.s13, q.z13, q.w.w13);
  make(b.w2, E * D, F, q.c2, q.s2, q.z2, q.w.w2);
  q.w.router = b.router;
  q.w.E = E;
  q.w.D = D;
  q.w.F = F;
  return q;
}

// Bytes of one expert (w1, w3, w2) in format f (plain = bf16).
double expert_bytes(WeightFormat f, int64_t D, int64_t F) {
  if (f == WeightFormat::plain) return 3.0 * D * F * 2;
  return 2.0 * F *
             (quant_row_bytes(f, D) +
              4.0 * quant_row_scales(f, D) * (f == WeightFormat::int4 ? 2 : 1)) +
         1.0 * D *
             (quant_row_bytes(f, F) +
              4.0 * quant_row_scales(f, F) * (f == WeightFormat::int4 ? 2 : 1));
}

}  // namespace

std::vector<StackBenchRow> run_quant_moe_bench(const QuantMoeBenchOptions& o) {
  const Context ctx(o.device);
  const double copy = o.copy_tbs > 0 ? o.copy_tbs * 1e12 : measure_copy_bandwidth(ctx);
  const double gemm = o.gemm_tflops > 0 ? o.gemm_tflops * 1e12 : measure_gemm_flops(ctx);
  const int64_t D = o.hidden, F = o.intermediate, E = o.experts, T = o.prefill_tokens;
  MoeWeights b{empty({E, D}, DType::bf16, ctx), empty({E, 2 * F, D}, DType::bf16, ctx),
               empty({E, D, F}, DType::bf16, ctx)};
  fill_uniform(ctx, b.router.data(), b.router.numel(), true, -0.0346f, 0.0346f, 11);
  fill_uniform(ctx, b.w13.data(), b.w13.numel(), true, -0.0346f, 0.0346f, 12);
  fill_uniform(ctx, b.w2.data(), b.w2.numel(), true, -0.0346f, 0.0346f, 13);
  const Tensor x1 = empty({1, D}, DType::bf16, ctx), y1 = empty({1, D}, DType::bf16, ctx);
  const Tensor xt = empty({T, D}, DType::bf16, ctx), yt = empty({T, D}, DType::bf16, ctx);
  fill_uniform(ctx, x1.data(), x1.numel(), true, -1.f, 1.f, 14);
  fill_uniform(ctx, xt.data(), xt.numel(), true, -1.f, 1.f, 15);
  const double router_bytes = 2.0 * E * D;
  const double prefill_flops = 2.0 * T * 2 * 3 * D * F + 2.0 * T * E * D;
  std::vector<StackBenchRow> rows;
  double dec_bf16 = 0, pre_bf16 = 0;
  for (WeightFormat f :
       {WeightFormat::plain, WeightFormat::int8, WeightFormat::fp8_e4m3, WeightFormat::int4}) {
    std::unique_ptr<QuantExperts> q;
    std::function<void(const Tensor&, const Tensor&)> run;
    if (f == WeightFormat::plain) {
      run = [&](const Tensor& x, const Tensor& y) { moe_forward(ctx, x, b, y); };
    } else {
      q = std::make_unique<QuantExperts>(quantize_experts(ctx, b, f));
      run = [&](const Tensor& x, const Tensor& y) { quant_moe_forward(ctx, x, q->w, y); };
    }
    const std::string name = f == WeightFormat::plain ? "bf16" : weight_format_name(f);
    run(x1, y1);  // scratch grown, then graph replays
    const double dec = median(time_graph(
        ctx, [&] { run(x1, y1); }, o.reps));
    const double dec_floor = (router_bytes + 2 * expert_bytes(f, D, F)) / copy * 1e3;
    if (f == WeightFormat::plain) dec_bf16 = dec;
    char note[160];
    std::snprintf(note, sizeof note, "%.2f GB read; %.2fx faster than bf16",
                  (router_bytes + 2 * expert_bytes(f, D, F)) / 1e9, dec_bf16 / dec);
    rows.push_back({"moe decode n=1 " + name + " (D " + std::to_string(D) + ", F " +
                        std::to_string(F) + ", E " + std::to_string(E) + ")",
                    dec, dec_floor, note});
    run(xt, yt);
    const double pre = median(time_reps(
        ctx, [&] { run(xt, yt); }, 1, std::max(3, o.reps / 4)));
    if (f == WeightFormat::plain) pre_bf16 = pre;
    std::snprintf(note, sizeof note, "%.2fx our bf16 prefill (%s)", pre_bf16 / pre,
                  f == WeightFormat::plain ? "cuBLASLt per expert"
                  : f == WeightFormat::fp8_e4m3 && fp8_gemm_available(ctx)
                      ? "per-token e4m3 activations + cuBLASLt FP8 GEMM per expert"
                      : "dequant to bf16 + cuBLASLt per expert");
    rows.push_back(
        {"moe prefill T=" + std::to_string(T) + " " + name, pre, prefill_flops / gemm * 1e3, note});
  }
  return rows;
}

}  // namespace mvl::cuda
