// The ViT's CUDA parts before and after issue 21 item 4, at the released shape (CLIP
// ViT-L/14-336: 37 tiles x 577 tokens, hidden 1024, 16 heads x 64, MLP 4096, quick_gelu), with
// random weights, as raw kernel calls (the vit_tower row of ops_cuda_bench is the same tower):
//   attention  every d = 64 tuning of the sm_90a kernel (Sm90Tuning) and the mma.sync kernel,
//              each checked against the first (the d128 shape) before it is timed;
//   fc1        GEMM + bias, then quick_gelu: the product's old path (the activation on a copy),
//              in place, and in L2-sized row blocks (gemm_bias_act's chunk_rows);
//   fc2        GEMM + bias + residual: add after, cuBLASLt's C operand, accumulate in place;
//   layer_norm block rows vs warp rows (LayerNormRows);
//   tower      24 layers as ops_cuda_bench times them, with the old and the best choices.
// Median of N CUDA-event timings; floors from the measured copy bandwidth / GEMM FLOP/s. Prints
// the winners and the lines to change; --json writes them for tools/device/vit_check.sh.
// Correctness: tests/gpu/attention_test.cpp, gemm_test.cpp, vit_ops_test.cpp (run first).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "kernels/bench/timing.h"
#include "kernels/core/error.h"
#include "kernels/cuda/activation.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/context.h"
#include "kernels/cuda/device_info.h"
#include "kernels/cuda/layer_norm.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/storage.h"
#include "kernels/cuda/tensor_ops.h"

using namespace mvl;
using nlohmann::json;

namespace {

constexpr int64_t kTiles = 37, kS = 577, kW = 1024, kM = 4096, kH = 16, kD = 64,
                  kRows = kTiles * kS;

struct Bench {
  cuda::Context& ctx;
  double bw = 0, flops = 0;
  json rows = json::array();
  uint64_t seed = 1;

  Tensor rand(const Shape& s, float lo = -1.f, float hi = 1.f) {
    Tensor t = cuda::empty(s, DType::bf16, ctx);
    cuda::fill_uniform(ctx, t.data(), t.numel(), true, lo, hi, seed++);
    return t;
  }
  double time(const std::string& name, const std::function<void()>& fn, double bytes, double fl,
              int reps) {
    const double ms = cuda::median(cuda::time_reps(ctx, fn, 2, reps));
    const double floor_ms = std::max(bytes / bw, fl / flops) * 1e3;
    rows.push_back({{"name", name}, {"ms", ms}, {"floor_ms", floor_ms}});
    std::printf("%-58s %9.4f ms  floor %.4f ms (x%.2f)\n", name.c_str(), ms, floor_ms,
                ms / floor_ms);
    std::fflush(stdout);
    return ms;
  }
};

// Largest |a - hb| between a device tensor and a host f32 copy of the same shape.
double max_abs_diff(const cuda::Context& ctx, const Tensor& a, const Tensor& hb) {
  const Tensor ha = cuda::to_host_f32(a, ctx);
  double m = 0;
  for (int64_t i = 0; i < ha.numel(); ++i) {
    const double d = std::fabs(double(ha.data<float>()[i]) - hb.data<float>()[i]);
    if (!(d <= m)) m = d;  // NaN wins
  }
  return m;
}

std::string tuning_name(const cuda::Sm90Tuning& t) {
  if (t.persistent) return fmt::format("{} persistent", cuda::sm90_tiling_name(t.tiling));
  return fmt::format("{} tiles_per_cta {}", cuda::sm90_tiling_name(t.tiling), t.tiles_per_cta);
}

struct Choices {
  cuda::Sm90Tuning attn{cuda::Sm90Tiling::k128, 1};
  int64_t chunk_rows = 0;
  cuda::LayerNormRows ln = cuda::LayerNormRows::block;
};

}  // namespace

int main(int argc, char** argv) {
  std::string json_path, only = "all";
  int layers = 24;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json") && i + 1 < argc) {
      json_path = argv[++i];
    } else if (!std::strcmp(argv[i], "--layers") && i + 1 < argc) {
      layers = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--tilings") && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: vit_bench [--json out.json] [--layers N (24)] [--tilings all|k128 "
                   "(only the old shape, e.g. after a failed attention_test)]\n");
      return 2;
    }
  }
  try {
    if (cuda::device_count() == 0) {
      std::fprintf(stderr, "vit_bench: no CUDA device\n");
      return 1;
    }
    cuda::Context ctx(0);
    Bench b{ctx};
    b.bw = cuda::measure_copy_bandwidth(ctx);
    b.flops = cuda::measure_gemm_flops(ctx);
    std::printf("GPU: %s  copy %.2f TB/s  bf16 GEMM 8192^3 %.1f TFLOP/s | ViT %lld tiles x %lld\n",
                cuda::device_name(0).c_str(), b.bw / 1e12, b.flops / 1e12,
                static_cast<long long>(kTiles), static_cast<long long>(kS));
    json out = {{"gpu", cuda::device_name(0)}, {"copy_bytes_per_s", b.bw}, {"gemm_flops", b.flops}};

    // ---- attention: the tower's fused-qkv views ----
    Tensor qkv = b.rand({kTiles, kS, 3, kH, kD}, -2.f, 2.f);
    const Tensor q = qkv.select(2, 0), k = qkv.select(2, 1), v = qkv.select(2, 2);
    Tensor att = cuda::empty({kTiles, kS, kH, kD}, DType::bf16, ctx);
    Tensor ref = cuda::empty({kTiles, kS, kH, kD}, DType::bf16, ctx);
    const double attn_fl = 4.0 * kTiles * kS * kS * kW;
    const bool hopper = cuda::flash_attention_sm90_available(ctx);
    Choices best;
    double attn_old_ms = 0, attn_best_ms = 1e30;
    if (hopper) {
      const cuda::Sm90Tuning legacy{cuda::Sm90Tiling::k128, 1};
      cuda::flash_attention_sm90(ctx, q, k, v, ref, 0.125f, false, 0, legacy);
      const Tensor ref_host = cuda::to_host_f32(ref, ctx);
      std::vector<cuda::Sm90Tuning> tunings = {legacy};
      for (const cuda::Sm90Tiling t :
           {cuda::Sm90Tiling::k128, cuda::Sm90Tiling::k64x1, cuda::Sm90Tiling::k64x2,
            cuda::Sm90Tiling::k128f, cuda::Sm90Tiling::k64x1f})
        for (const int tpc : {1, 2, 3, 5})
          if (!(t == cuda::Sm90Tiling::k128 && tpc == 1) && only == "all")
            tunings.push_back({t, tpc});
      if (only == "all")
        for (const cuda::Sm90Tiling t : {cuda::Sm90Tiling::k128f, cuda::Sm90Tiling::k64x1f})
          tunings.push_back({t, 1, true});
      for (const cuda::Sm90Tuning& t : tunings) {
        cuda::flash_attention_sm90(ctx, q, k, v, att, 0.125f, false, 0, t);
        const double diff = max_abs_diff(ctx, att, ref_host);
        const std::string name = "vit_attention d64 " + tuning_name(t);
        // bf16 outputs of |o| < 2 differ by a few ulps between tilings (P rounded per block).
        if (!(diff < 0.05)) {
          std::printf("%-58s WRONG: max |diff| vs k128/1 = %.3g, not timed\n", name.c_str(), diff);
          b.rows.push_back({{"name", name}, {"error", diff}});
          continue;
        }
        const double ms = b.time(
            name, [&] { cuda::flash_attention_sm90(ctx, q, k, v, att, 0.125f, false, 0, t); }, 0,
            attn_fl, 20);
        if (t.tiling == legacy.tiling && t.tiles_per_cta == legacy.tiles_per_cta && !t.persistent)
          attn_old_ms = ms;
        if (ms < attn_best_ms) attn_best_ms = ms, best.attn = t;
      }
    }
    {
      Tensor lens = Tensor::empty({kTiles}, DType::i32);
      for (int64_t i = 0; i < kTiles; ++i) lens.data<int32_t>()[i] = static_cast<int32_t>(kS);
      const Tensor dl = cuda::to_device(lens, ctx);
      b.time(
          "vit_attention d64 [mma.sync kernel]",
          [&] { cuda::flash_attention(ctx, q, k, v, att, 0.125f, false, 0, dl); }, 0, attn_fl, 20);
    }
    out["attention"] = {{"old_ms", attn_old_ms},
                        {"best_ms", attn_best_ms},
                        {"floor_ms", attn_fl / b.flops * 1e3},
                        {"best_tiling", cuda::sm90_tiling_name(best.attn.tiling)},
                        {"best_tiles_per_cta", best.attn.tiles_per_cta},
                        {"best_persistent", best.attn.persistent}};

    // ---- fc1 + quick_gelu ----
    Tensor a = b.rand({kRows, kW}), w1 = b.rand({kM, kW}, -0.03f, 0.03f),
           b1 = b.rand({kM}, -0.1f, 0.1f);
    Tensor mlp = cuda::empty({kRows, kM}, DType::bf16, ctx),
           mlp2 = cuda::empty({kRows, kM}, DType::bf16, ctx);
    const double fc_fl = 2.0 * kRows * kW * kM;
    cuda::GemmOptions o1;
    o1.bias = &b1;
    b.time(
        "fc1 gemm + bias alone", [&] { cuda::gemm(ctx, a, w1, mlp, o1); }, 0, fc_fl, 10);
    const double fc1_old = b.time(
        "fc1 old: gemm + bias, copy, quick_gelu (product before)",
        [&] {
          cuda::gemm(ctx, a, w1, mlp, o1);
          cuda::copy(mlp, mlp2, ctx);
          cuda::activation_inplace(ctx, mlp2, "quick_gelu");
        },
        0, fc_fl, 10);
    double fc1_best = 1e30;
    for (const int64_t chunk : {int64_t(0), int64_t(2048), int64_t(4096), int64_t(8192)}) {
      const double ms = b.time(
          fmt::format("fc1 gemm_bias_act quick_gelu chunk_rows {}", chunk),
          [&] { cuda::gemm_bias_act(ctx, a, w1, &b1, "quick_gelu", mlp, chunk); }, 0, fc_fl, 10);
      if (ms < fc1_best) fc1_best = ms, best.chunk_rows = chunk;
    }
    out["fc1"] = {{"old_ms", fc1_old}, {"best_ms", fc1_best}, {"best_chunk_rows", best.chunk_rows}};

    // ---- fc2 + bias + residual ----
    Tensor w2 = b.rand({kW, kM}, -0.03f, 0.03f), b2 = b.rand({kW}, -0.1f, 0.1f);
    Tensor h = b.rand({kRows, kW}), y = cuda::empty({kRows, kW}, DType::bf16, ctx),
           y2 = cuda::empty({kRows, kW}, DType::bf16, ctx);
    cuda::GemmOptions o2;
    o2.bias = &b2;
    const double fc2_old = b.time(
        "fc2 old: gemm + bias, then add (product before)",
        [&] {
          cuda::gemm(ctx, mlp, w2, y, o2);
          cuda::add(ctx, h, y, y2);
        },
        0, fc_fl, 10);
    cuda::GemmOptions o2r = o2;
    o2r.residual = &h;
    const double fc2_new = b.time(
        "fc2 gemm + bias + residual as C (product now)", [&] { cuda::gemm(ctx, mlp, w2, y, o2r); },
        0, fc_fl, 10);
    cuda::GemmOptions o2a = o2;
    o2a.accumulate = true;
    b.time(
        "fc2 gemm + bias, accumulate in place (tower rows)",
        [&] { cuda::gemm(ctx, mlp, w2, h, o2a); }, 0, fc_fl, 10);
    out["fc2"] = {{"old_ms", fc2_old}, {"new_ms", fc2_new}};

    // ---- layer_norm [kRows, 1024] ----
    Tensor lnw = b.rand({kW}, 0.5f, 1.5f), lnb = b.rand({kW}, -0.1f, 0.1f);
    double ln_ms[2] = {0, 0};
    for (const cuda::LayerNormRows r : {cuda::LayerNormRows::block, cuda::LayerNormRows::warp}) {
      const bool warp = r == cuda::LayerNormRows::warp;
      ln_ms[warp] = b.time(
          warp ? "layer_norm warp rows" : "layer_norm block rows (old)",
          [&] { cuda::layer_norm(ctx, h, lnw, lnb, 1e-5f, a, r); }, 4.0 * kRows * kW, 0, 20);
    }
    best.ln = ln_ms[1] < ln_ms[0] ? cuda::LayerNormRows::warp : cuda::LayerNormRows::block;
    out["layer_norm"] = {{"block_ms", ln_ms[0]}, {"warp_ms", ln_ms[1]}};

    // ---- the tower (ops_cuda_bench's vit_tower: residuals accumulated in place) ----
    Tensor wqkv = b.rand({3 * kW, kW}, -0.03f, 0.03f), bqkv = b.rand({3 * kW}, -0.1f, 0.1f);
    Tensor wo = b.rand({kW, kW}, -0.03f, 0.03f), bo = b.rand({kW}, -0.1f, 0.1f);
    const double tower_fl =
        layers * (2.0 * kRows * (4.0 * kW * kW + 2.0 * kW * kM) + 4.0 * kTiles * kS * kS * kW);
    auto tower = [&](const Choices& c) {
      for (int l = 0; l < layers; ++l) {
        cuda::layer_norm(ctx, h, lnw, lnb, 1e-5f, a, c.ln);
        cuda::GemmOptions ob;
        ob.bias = &bqkv;
        cuda::gemm(ctx, a, wqkv, qkv.view({kRows, 3 * kW}), ob);
        if (hopper)
          cuda::flash_attention_sm90(ctx, q, k, v, att, 0.125f, false, 0, c.attn);
        else
          cuda::flash_attention(ctx, q, k, v, att, 0.125f, false);
        cuda::GemmOptions oo;
        oo.bias = &bo;
        oo.accumulate = true;
        cuda::gemm(ctx, att.view({kRows, kW}), wo, h, oo);
        cuda::layer_norm(ctx, h, lnw, lnb, 1e-5f, a, c.ln);
        cuda::gemm_bias_act(ctx, a, w1, &b1, "quick_gelu", mlp, c.chunk_rows);
        cuda::GemmOptions o;
        o.bias = &b2;
        o.accumulate = true;
        cuda::gemm(ctx, mlp, w2, h, o);
      }
    };
    const std::string tl = fmt::format("vit_tower {} tiles x {} layers", kTiles, layers);
    const double tower_old = b.time(
        tl + " [old: k128/1, chunk 0, ln block]", [&] { tower(Choices{}); }, 0, tower_fl, 5);
    const double tower_new = b.time(
        tl + fmt::format(" [best: {}, chunk {}, ln {}]", tuning_name(best.attn), best.chunk_rows,
                         best.ln == cuda::LayerNormRows::warp ? "warp" : "block"),
        [&] { tower(best); }, 0, tower_fl, 5);
    out["tower"] = {{"layers", layers}, {"old_ms", tower_old}, {"new_ms", tower_new}};
    out["rows"] = b.rows;

    std::printf("\nwinners:\n  attention d64: %s (%.4f ms vs k128/1 %.4f ms, floor %.4f ms)\n",
                tuning_name(best.attn).c_str(), attn_best_ms, attn_old_ms, attn_fl / b.flops * 1e3);
    std::printf(
        "    -> kernels/cuda/attention.h: inline constexpr Sm90Tuning "
        "kSm90D64Default{Sm90Tiling::%s, %d, %s};\n",
        cuda::sm90_tiling_name(best.attn.tiling), best.attn.tiles_per_cta,
        best.attn.persistent ? "true" : "false");
    std::printf("  fc1 chunk_rows: %lld (%.4f ms vs the product's old path %.4f ms)\n",
                static_cast<long long>(best.chunk_rows), fc1_best, fc1_old);
    std::printf(
        "    -> kernels/cuda/linear.h: inline constexpr int64_t kGemmActChunkRows = %lld;\n",
        static_cast<long long>(best.chunk_rows));
    std::printf("  layer_norm: %s (block %.4f ms, warp %.4f ms)\n",
                best.ln == cuda::LayerNormRows::warp ? "warp" : "block", ln_ms[0], ln_ms[1]);
    std::printf(
        "    -> kernels/cuda/layer_norm.h: inline constexpr LayerNormRows "
        "kLayerNormRowsDefault = LayerNormRows::%s;\n",
        best.ln == cuda::LayerNormRows::warp ? "warp" : "block");
    std::printf("  tower: %.3f ms old -> %.3f ms best\n", tower_old, tower_new);
    if (!json_path.empty()) std::ofstream(json_path) << out.dump(1);
  } catch (const Error& e) {
    std::fprintf(stderr, "vit_bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
