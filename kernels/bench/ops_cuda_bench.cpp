// Per-op CUDA benchmarks at the released MiniMax-VL-01 dimensions with random weights:
// lightning core (prefill, decode), lightning layer (projections + core + gated norm),
// softmax flash attention (prefill, decode), MoE (prefill, decode), the CLIP ViT tower on
// 37 tiles, and the measured ceilings (copy bandwidth, bf16 GEMM). Prints a table and
// writes JSON (--json) for tools/device/peers.py to merge with the peers' timings.
// Correctness is covered by tests/gpu (run first by tools/device/gpu_check.sh).
#include <nlohmann/json.hpp>

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
#include "kernels/cuda/lightning.h"
#include "kernels/cuda/lightning_decode.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/rms_norm.h"
#include "kernels/cuda/storage.h"
#include "kernels/cuda/tensor_ops.h"

using namespace mvl;
using nlohmann::json;

namespace {

struct Bench {
  cuda::Context& ctx;
  double bw = 0, flops = 0;  // measured ceilings
  json rows = json::array();

  Tensor rand(const Shape& s, DType dt, float lo = -1.f, float hi = 1.f) {
    Tensor t = cuda::empty(s, dt, ctx);
    static uint64_t seed = 1;
    cuda::fill_uniform(ctx, t.data(), t.numel(), dt == DType::bf16, lo, hi, seed++);
    return t;
  }
  // floor_bytes / floor_flops: the fewest bytes / FLOPs the op must move / do.
  // graph: also time replays of a CUDA graph of one call (decode paths must be capturable).
  void report(const std::string& name, const std::function<void()>& fn, double bytes, double fl,
              int reps = 20, bool flush = false, bool graph = false, int warmup = 3) {
    const auto ms_all = cuda::time_reps(ctx, fn, warmup, reps, flush);
    const double ms = cuda::median(ms_all);
    const double floor_ms = std::max(bytes / bw, fl / flops) * 1e3;
    json r = {{"name", name},         {"ms", ms},    {"bytes", bytes}, {"flops", fl},
              {"floor_ms", floor_ms}, {"reps", reps}};
    std::string g;
    if (graph) {
      try {
        const double gm = cuda::median(cuda::time_graph(ctx, fn, reps));
        r["graph_ms"] = gm;
        g = fmt::format("  graph {:.4f} ms (x{:.2f})", gm, gm / floor_ms);
      } catch (const Error& e) {
        r["graph_error"] = e.what();
        g = std::string("  graph capture FAILED: ") + e.what();
      }
    }
    rows.push_back(r);
    std::printf("%-44s %10.4f ms  %8.1f GB/s  %8.1f TFLOP/s  floor %.4f ms (x%.2f)%s\n",
                name.c_str(), ms, bytes / (ms * 1e-3) / 1e9, fl / (ms * 1e-3) / 1e12, floor_ms,
                ms / floor_ms, g.c_str());
    std::fflush(stdout);
  }
};

std::vector<float> slopes_for_layer(int layer, int H) {
  std::vector<float> s(H);
  const double factor = 1.0 - layer / 79.0 + 1e-5;
  for (int h = 0; h < H; ++h)
    s[h] = static_cast<float>(std::pow(2.0, -(h + 1) * 8.0 / H)) * static_cast<float>(factor);
  return s;
}

// only_variants: comma-separated prefill variant names to time besides the default row
// (empty: the mma.sync ones, ws,dv32,dv64, so an untried sm90 kernel cannot take a general
// bench run down; tools/device/lin_check.sh names the parity-checked ones).
void bench_lightning(Bench& b, const std::string& only_variants) {
  const int H = 64, d = 128;
  Tensor slopes = cuda::to_device(Tensor::from_f32({H}, slopes_for_layer(3, H)), b.ctx);
  for (int64_t T : {4096, 16384, 65536}) {
    Tensor q = b.rand({T, H, d}, DType::bf16, -0.3f, 1.f),
           k = b.rand({T, H, d}, DType::bf16, -0.3f, 1.f),
           v = b.rand({T, H, d}, DType::bf16, -0.3f, 1.f);
    Tensor o = cuda::empty({T, H, d}, DType::bf16, b.ctx);
    Tensor st = cuda::zeros({1, H, d, d}, DType::f32, b.ctx);
    const double bytes = 4.0 * T * H * d * 2 + 2.0 * H * d * d * 4;
    const double fl =
        64.0 * (4.0 * d * d + 2.0 * 64 * d) * T;  // chunk 64, causal half of the intra term
    b.report(
        "lightning_prefill_core T=" + std::to_string(T),
        [&] { cuda::lightning_prefill(b.ctx, q, k, v, slopes, st, o); }, bytes, fl);
    // Every variant by name (tools/device/lin_check.sh picks the winner from these rows).
    const std::pair<int, const char*> variants[] = {
        {cuda::kLightningPrefillWs, "ws"},         {cuda::kLightningPrefillDv32, "dv32"},
        {cuda::kLightningPrefillDv64, "dv64"},     {cuda::kLightningPrefillSm90S2, "sm90s2"},
        {cuda::kLightningPrefillSm90S3, "sm90s3"}, {cuda::kLightningPrefillSm90S4, "sm90s4"},
        {cuda::kLightningPrefillSm90R2, "sm90r2"}, {cuda::kLightningPrefillSm90R3, "sm90r3"},
        {cuda::kLightningPrefillSm90R4, "sm90r4"}, {cuda::kLightningPrefillSm90W2, "sm90w2"},
        {cuda::kLightningPrefillSm90W3, "sm90w3"}, {cuda::kLightningPrefillSm90W4, "sm90w4"}};
    const auto wanted = [&](const char* tag) {
      const std::string list = "," + (only_variants.empty() ? "ws,dv32,dv64" : only_variants) + ",";
      return list.find(std::string(",") + tag + ",") != std::string::npos;
    };
    for (const auto& [vs, tag] : variants)
      if (wanted(tag) && cuda::lightning_prefill_variant_available(b.ctx, vs))
        b.report(
            std::string("lightning_prefill_core(") + tag + ") T=" + std::to_string(T),
            [&] { cuda::lightning_prefill(b.ctx, q, k, v, slopes, st, o, Tensor(), vs); }, bytes,
            fl);
  }
  for (int64_t B : {1, 8, 64, 256}) {
    Tensor q = b.rand({B, H, d}, DType::bf16), k = b.rand({B, H, d}, DType::bf16),
           v = b.rand({B, H, d}, DType::bf16);
    Tensor o = cuda::empty({B, H, d}, DType::bf16, b.ctx);
    Tensor st = b.rand({B, H, d, d}, DType::f32, -0.01f, 0.01f);
    const double bytes = 2.0 * B * H * d * d * 4 + 4.0 * B * H * d * 2;
    b.report(
        "lightning_decode B=" + std::to_string(B),
        [&] { cuda::lightning_decode(b.ctx, q, k, v, slopes, st, o); }, bytes, 4.0 * B * H * d * d,
        50, false, true);
  }
}

// Every lightning decode kernel (lightning_decode.h) at B = 64, 128, 256 (issue 21 item 5:
// >= 85% of HBM bandwidth at B >= 64); the floor is the state read + written once at the copy rate.
void bench_lightning_decode(Bench& b) {
  const int H = 64, d = 128;
  Tensor slopes = cuda::to_device(Tensor::from_f32({H}, slopes_for_layer(3, H)), b.ctx);
  for (int64_t B : {64, 128, 256}) {
    Tensor q = b.rand({B, H, d}, DType::bf16), k = b.rand({B, H, d}, DType::bf16),
           v = b.rand({B, H, d}, DType::bf16);
    Tensor o = cuda::empty({B, H, d}, DType::bf16, b.ctx);
    Tensor st = b.rand({B, H, d, d}, DType::f32, -0.01f, 0.01f);
    const double bytes = 2.0 * B * H * d * d * 4 + 4.0 * B * H * d * 2;
    for (int kn = 0; kn < cuda::kLightningDecodeKernels; ++kn)
      b.report(
          fmt::format("lightning_decode B={} [k{} {}]", B, kn, cuda::lightning_decode_kernel_name(kn)),
          [&] { cuda::lightning_decode(b.ctx, q, k, v, slopes, st, o, cuda::LightningDecodeTuning{kn}); },
          bytes, 4.0 * B * H * d * d, 50);
    // The model's batched step today (llm lightning_attention_batch): B launches of the B = 1
    // step on per-sequence states; and the one-launch gather form over the same states.
    b.report(
        fmt::format("lightning_decode B={} [per-sequence launches, k0]", B),
        [&] {
          for (int64_t i = 0; i < B; ++i)
            cuda::lightning_decode(b.ctx, q.slice(0, i, i + 1), k.slice(0, i, i + 1),
                                   v.slice(0, i, i + 1), slopes, st.slice(0, i, i + 1),
                                   o.slice(0, i, i + 1));
        },
        bytes, 4.0 * B * H * d * d, 20);
    Tensor ptrs_h = Tensor::empty({B}, DType::i64);
    for (int64_t i = 0; i < B; ++i)
      ptrs_h.data<int64_t>()[i] =
          reinterpret_cast<int64_t>(static_cast<float*>(st.data()) + i * H * d * d);
    const Tensor ptrs = cuda::to_device(ptrs_h, b.ctx);
    b.report(
        fmt::format("lightning_decode B={} [gather, k{}]", B, cuda::kLightningDecodeGatherDefault),
        [&] { cuda::lightning_decode_gather(b.ctx, q, k, v, slopes, ptrs, o); }, bytes,
        4.0 * B * H * d * d, 50);
  }
}

// One lightning attention layer as HF's MiniMaxLightningAttention: qkv proj + SiLU, core,
// RMSNorm over 8192 + sigmoid gate, out proj.
void bench_lightning_layer(Bench& b) {
  const int H = 64, d = 128, D = 6144;
  Tensor wqkv = b.rand({3 * H * d, D}, DType::bf16, -0.02f, 0.02f),
         wg = b.rand({H * d, D}, DType::bf16, -0.02f, 0.02f);
  Tensor wo = b.rand({D, H * d}, DType::bf16, -0.02f, 0.02f),
         wn = b.rand({H * d}, DType::bf16, 0.5f, 1.5f);
  Tensor slopes = cuda::to_device(Tensor::from_f32({H}, slopes_for_layer(3, H)), b.ctx);
  for (int64_t T : {4096, 16384}) {
    Tensor x = b.rand({T, D}, DType::bf16);
    Tensor qkv = cuda::empty({T, H, 3 * d}, DType::bf16, b.ctx);
    Tensor g = cuda::empty({T, H * d}, DType::bf16, b.ctx),
           o = cuda::empty({T, H, d}, DType::bf16, b.ctx);
    Tensor y = cuda::empty({T, H * d}, DType::bf16, b.ctx),
           out = cuda::empty({T, D}, DType::bf16, b.ctx);
    Tensor st = cuda::zeros({1, H, d, d}, DType::f32, b.ctx);
    const double fl =
        2.0 * T * D * (4.0 * H * d) + 2.0 * T * H * d * D + 64.0 * (4.0 * d * d + 2.0 * 64 * d) * T;
    b.report(
        "lightning_layer T=" + std::to_string(T),
        [&] {
          cuda::gemm(b.ctx, x, wqkv, qkv.view({T, 3 * H * d}));
          cuda::activation_inplace(b.ctx, qkv, "silu");
          cuda::lightning_prefill(b.ctx, qkv.slice(2, 0, d), qkv.slice(2, d, 2 * d),
                                  qkv.slice(2, 2 * d, 3 * d), slopes, st, o);
          cuda::gemm(b.ctx, x, wg, g);
          cuda::gated_rms_norm(b.ctx, o.view({T, H * d}), wn, 1e-6f, g, y);
          cuda::gemm(b.ctx, y, wo, out);
        },
        2.0 * (4.0 * H * d * D + T * D * 2), fl, 10);
  }
}

// kv_lens = the full length for every sequence: the same attention, but cuda::flash_attention
// keeps it on the mma.sync kernel (the Hopper wgmma kernel takes no kv_lens), for comparison.
Tensor full_lens(const cuda::Context& ctx, int64_t B, int64_t n) {
  Tensor t = Tensor::empty({B}, DType::i32);
  for (int64_t i = 0; i < B; ++i) t.data<int32_t>()[i] = static_cast<int32_t>(n);
  return cuda::to_device(t, ctx);
}

// Decode over a 32K cache (flash-decoding, attention_decode.cu): the peers.py sdpa rows time
// the same shapes. The [kv_lens] rows pass the length in device memory, as the product's decode
// graph does (same work; the split count is printed for the record).
void bench_softmax_decode(Bench& b) {
  const int H = 64, Hkv = 8, d = 128;
  const float scale = 1.f / std::sqrt(128.f);
  for (int64_t B : {1, 16}) {
    const int64_t C = 32768;
    Tensor q = b.rand({B, 1, H, d}, DType::bf16), k = b.rand({B, C, Hkv, d}, DType::bf16),
           v = b.rand({B, C, Hkv, d}, DType::bf16);
    Tensor o = cuda::empty({B, 1, H, d}, DType::bf16, b.ctx);
    std::printf("(softmax_decode B=%d: %d splits of the 32K keys)\n", int(B),
                cuda::flash_decode_splits(b.ctx, B, Hkv, C));
    b.report(
        "softmax_decode ctx=32768 B=" + std::to_string(B),
        [&] { cuda::flash_attention(b.ctx, q, k, v, o, scale, true, C - 1); },
        2.0 * B * C * Hkv * d * 2, 4.0 * B * C * H * d, 20, false, true);
    const Tensor lens = full_lens(b.ctx, B, C);
    b.report(
        "softmax_decode ctx=32768 B=" + std::to_string(B) + " [kv_lens]",
        [&] { cuda::flash_attention(b.ctx, q, k, v, o, scale, true, 0, lens); },
        2.0 * B * C * Hkv * d * 2, 4.0 * B * C * H * d, 20, false, true);
    // Other split counts than the automatic one (for tuning; same work).
    for (int splits : B == 1 ? std::vector<int>{16, 64, 128} : std::vector<int>{1, 4, 8})
      b.report(
          "softmax_decode ctx=32768 B=" + std::to_string(B) + " [splits=" + std::to_string(splits) +
              "]",
          [&] { cuda::flash_decode(b.ctx, q, k, v, o, scale, true, 0, lens, splits); },
          2.0 * B * C * Hkv * d * 2, 4.0 * B * C * H * d, 20, false, true);
  }
}

// long: add the 128K-token prefill (seconds per call on an H200).
void bench_softmax(Bench& b, bool long_rows) {
  const int H = 64, Hkv = 8, d = 128;
  const float scale = 1.f / std::sqrt(128.f);
  for (int64_t T : {int64_t(8192), int64_t(32768), int64_t(131072)}) {
    if (T > 100000 && !long_rows) continue;
    Tensor q = b.rand({T, H, d}, DType::bf16), k = b.rand({T, Hkv, d}, DType::bf16),
           v = b.rand({T, Hkv, d}, DType::bf16);
    Tensor o = cuda::empty({T, H, d}, DType::bf16, b.ctx);
    const double fl = 4.0 * T * T * d * H / 2;
    b.report(
        "softmax_prefill_causal_gqa T=" + std::to_string(T),
        [&] { cuda::flash_attention(b.ctx, q, k, v, o, scale, true); },
        2.0 * T * (2 * H + 2 * Hkv) * d, fl, T > 100000 ? 2 : (T > 10000 ? 5 : 10), false, false,
        T > 100000 ? 1 : 3);
    if (T == 8192) {
      const Tensor lens = full_lens(b.ctx, 1, T);
      b.report(
          "softmax_prefill_causal_gqa T=8192 [mma.sync kernel]",
          [&] { cuda::flash_attention(b.ctx, q, k, v, o, scale, true, 0, lens); },
          2.0 * T * (2 * H + 2 * Hkv) * d, fl, 10);
    }
  }
  {  // ViT attention: 37 tiles x 16 heads x 577 tokens, d 64, not causal.
    const int64_t tiles = 37, S = 577, Hh = 16, dh = 64;
    Tensor q = b.rand({tiles, S, Hh, dh}, DType::bf16), k = b.rand({tiles, S, Hh, dh}, DType::bf16),
           v = b.rand({tiles, S, Hh, dh}, DType::bf16);
    Tensor o = cuda::empty({tiles, S, Hh, dh}, DType::bf16, b.ctx);
    const Tensor lens = full_lens(b.ctx, tiles, S);
    const double fl = 4.0 * tiles * S * S * Hh * dh, by = 2.0 * 4 * tiles * S * Hh * dh;
    b.report(
        "vit_attention 37x16 heads x 577 d64",
        [&] { cuda::flash_attention(b.ctx, q, k, v, o, 0.125f, false); }, by, fl, 20);
    b.report(
        "vit_attention 37x16 heads x 577 d64 [mma.sync kernel]",
        [&] { cuda::flash_attention(b.ctx, q, k, v, o, 0.125f, false, 0, lens); }, by, fl, 20);
  }
  bench_softmax_decode(b);
}

// The d = 128 schedules of the sm_90a kernel (attention.h Sm90Tuning) on the causal GQA prefill
// shape, called directly: names k128[f][_persistent][_lpt] (tests/gpu/attention_test.cpp
// Sm90D128Schedules checks the same names), lengths in tokens. Rows are named
// "softmax_prefill_causal_gqa T=<T> [sm90 <name>]" (tools/device/sfx_check.sh reads them).
cuda::Sm90Tuning parse_sm90_d128_tuning(const std::string& name) {
  const auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
  const bool flat = name.rfind("k128f", 0) == 0;
  MVL_CHECK(flat || name.rfind("k128", 0) == 0, invalid_argument,
            "ops_cuda_bench: d128 tuning '{}' (k128[f][_persistent][_lpt])", name);
  return cuda::Sm90Tuning{flat ? cuda::Sm90Tiling::k128f : cuda::Sm90Tiling::k128, 1,
                          has("_persistent"), has("_lpt")};
}

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= list.size()) {
    const size_t end = std::min(list.find(',', at), list.size());
    if (end > at) out.push_back(list.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

void bench_softmax_tunings(Bench& b, const std::string& tunings, const std::string& lengths) {
  const int H = 64, Hkv = 8, d = 128;
  const float scale = 1.f / std::sqrt(128.f);
  std::vector<std::pair<std::string, cuda::Sm90Tuning>> ts;
  for (const std::string& n : split_list(tunings)) ts.emplace_back(n, parse_sm90_d128_tuning(n));
  for (const std::string& len : split_list(lengths)) {
    const int64_t T = std::stoll(len);
    Tensor q = b.rand({T, H, d}, DType::bf16), k = b.rand({T, Hkv, d}, DType::bf16),
           v = b.rand({T, Hkv, d}, DType::bf16);
    Tensor o = cuda::empty({T, H, d}, DType::bf16, b.ctx);
    const double fl = 4.0 * T * T * d * H / 2;
    for (const auto& [name, t] : ts)
      b.report(
          "softmax_prefill_causal_gqa T=" + std::to_string(T) + " [sm90 " + name + "]",
          [&] { cuda::flash_attention_sm90(b.ctx, q, k, v, o, scale, true, 0, t); },
          2.0 * T * (2 * H + 2 * Hkv) * d, fl, T > 100000 ? 3 : (T > 10000 ? 10 : 20), false, false,
          T > 100000 ? 1 : 3);
  }
}

void bench_moe(Bench& b) {
  const int64_t E = 32, D = 6144, F = 9216;
  cuda::MoeWeights w{b.rand({E, D}, DType::bf16, -0.05f, 0.05f),
                     b.rand({E, 2 * F, D}, DType::bf16, -0.02f, 0.02f),
                     b.rand({E, D, F}, DType::bf16, -0.02f, 0.02f)};
  const double expert_bytes = 3.0 * D * F * 2;
  // n = 4 (largest batch of the split-K kernels) last: the earlier rows keep their inputs.
  for (int64_t n : {1, 8, 64, 4096, 4}) {
    Tensor x = b.rand({n, D}, DType::bf16), out = cuda::empty({n, D}, DType::bf16, b.ctx);
    // Floor: bytes of the distinct experts touched under uniform routing, or the FLOPs.
    const double touched = n >= 64 ? E : E * (1.0 - std::pow(1.0 - 2.0 / E, double(n)));
    b.report(
        "moe " + std::string(n <= 64 ? "decode" : "prefill") + " n=" + std::to_string(n),
        [&] { cuda::moe_forward(b.ctx, x, w, out); }, touched * expert_bytes + E * D * 2,
        2.0 * n * 2 * 3 * D * F + 2.0 * n * D * E, n > 64 ? 10 : 30, n <= 64, n <= 64);
    if (n != 1) continue;
    // Decode knobs at batch 1 (gate rows/CTA, down rows/CTA, load hint; moe.h).
    const cuda::MoeDecodeTuning knobs[] = {{1, 1, 0}, {1, 1, 1}, {1, 1, 2}, {2, 2, 0},
                                           {2, 2, 1}, {2, 2, 2}, {1, 2, 1}, {2, 1, 1}};
    for (const cuda::MoeDecodeTuning& t : knobs)
      b.report(
          fmt::format("moe decode n=1 g{} d{} h{}", t.gate_rows, t.down_rows, t.load_hint),
          [&] { cuda::moe_forward(b.ctx, x, w, out, t); }, touched * expert_bytes + E * D * 2,
          2.0 * n * 2 * 3 * D * F + 2.0 * n * D * E, 30, true, true);
  }
}

// Batched MoE decode (issue 21 item 5): the CUDA-core kernels against every tiling of the
// tensor-core kernels (moe_decode_mma.cu) at n = 1, 8, 16, 32, 64. Floor: the bytes of the
// distinct experts these tokens are routed to (top-2 of the logits, computed here on the host)
// at the copy rate. Eager and CUDA-graph medians.
void bench_moe_batch(Bench& b) {
  const int64_t E = 32, D = 6144, F = 9216;
  cuda::MoeWeights w{b.rand({E, D}, DType::bf16, -0.05f, 0.05f),
                     b.rand({E, 2 * F, D}, DType::bf16, -0.02f, 0.02f),
                     b.rand({E, D, F}, DType::bf16, -0.02f, 0.02f)};
  const double expert_bytes = 3.0 * D * F * 2;
  const Tensor wr = cuda::to_host_f32(w.router, b.ctx);
  for (int64_t n : {1, 8, 16, 32, 64}) {
    Tensor x = b.rand({n, D}, DType::bf16), out = cuda::empty({n, D}, DType::bf16, b.ctx);
    const Tensor xh = cuda::to_host_f32(x, b.ctx);
    std::vector<int> hit(E, 0);
    for (int64_t t = 0; t < n; ++t) {
      std::vector<double> lg(E, 0.0);
      for (int64_t e = 0; e < E; ++e)
        for (int64_t c = 0; c < D; ++c)
          lg[e] += double(xh.data<float>()[t * D + c]) * wr.data<float>()[e * D + c];
      int e1 = 0;
      for (int e = 1; e < E; ++e)
        if (lg[e] > lg[e1]) e1 = e;
      int e2 = e1 == 0 ? 1 : 0;
      for (int e = 0; e < E; ++e)
        if (e != e1 && lg[e] > lg[e2]) e2 = e;
      hit[e1] = hit[e2] = 1;
    }
    int touched = 0;
    for (int h : hit) touched += h;
    std::printf("(moe_batch n=%d: %d distinct experts)\n", int(n), touched);
    const double bytes = touched * expert_bytes + E * D * 2,
                 fl = 2.0 * n * 2 * 3 * D * F + 2.0 * n * D * E;
    cuda::MoeDecodeTuning core;  // the CUDA-core kernels whatever moe.h's defaults say
    core.mma_min_tokens = static_cast<int>(cuda::kMoeDecodeMaxTokens) + 1;
    b.report(
        fmt::format("moe_batch n={} [cuda-core]", n),
        [&] { cuda::moe_forward(b.ctx, x, w, out, core); }, bytes, fl, 20, false, true);
    for (int v = 0; v < cuda::kMoeMmaVariants; ++v) {
      cuda::MoeDecodeTuning tu;
      tu.mma_min_tokens = 1;
      tu.mma_variant = v;
      b.report(
          fmt::format("moe_batch n={} [mma v{} {}]", n, v, cuda::moe_mma_variant_name(v)),
          [&] { cuda::moe_forward(b.ctx, x, w, out, tu); }, bytes, fl, 20, false, true);
    }
  }
}

// CLIP ViT-L/14-336 tower (24 layers, 1024 wide, MLP 4096, 16 heads x 64) on 37 tiles.
void bench_vit(Bench& b, int layers) {
  const int64_t tiles = 37, S = 577, W = 1024, M = 4096, Hh = 16, dh = 64,
                P = 592;  // 588 patch values, padded to 592
  Tensor pix = b.rand({tiles * 576, P}, DType::bf16),
         wpatch = b.rand({W, P}, DType::bf16, -0.02f, 0.02f);
  Tensor wqkv = b.rand({3 * W, W}, DType::bf16, -0.03f, 0.03f),
         bqkv = b.rand({3 * W}, DType::bf16, -0.1f, 0.1f);
  Tensor wo = b.rand({W, W}, DType::bf16, -0.03f, 0.03f),
         bo = b.rand({W}, DType::bf16, -0.1f, 0.1f);
  Tensor w1 = b.rand({M, W}, DType::bf16, -0.03f, 0.03f),
         b1 = b.rand({M}, DType::bf16, -0.1f, 0.1f);
  Tensor w2 = b.rand({W, M}, DType::bf16, -0.03f, 0.03f),
         b2 = b.rand({W}, DType::bf16, -0.1f, 0.1f);
  Tensor lnw = b.rand({W}, DType::bf16, 0.5f, 1.5f), lnb = b.rand({W}, DType::bf16, -0.1f, 0.1f);
  Tensor pos = b.rand({tiles * S, W}, DType::bf16, -0.1f, 0.1f);
  Tensor h = b.rand({tiles * S, W}, DType::bf16), a = b.rand({tiles * S, W}, DType::bf16);
  Tensor qkv = cuda::empty({tiles, S, 3, Hh, dh}, DType::bf16, b.ctx),
         att = cuda::empty({tiles, S, Hh, dh}, DType::bf16, b.ctx);
  Tensor mlp = cuda::empty({tiles * S, M}, DType::bf16, b.ctx),
         pe = cuda::empty({tiles * 576, W}, DType::bf16, b.ctx);
  const double fl_layer = 2.0 * tiles * S * (4.0 * W * W + 2.0 * W * M) + 4.0 * tiles * S * S * W;
  const double fl = layers * fl_layer + 2.0 * tiles * 576 * 588 * W;
  b.report(
      "vit_tower 37 tiles x " + std::to_string(layers) + " layers",
      [&] {
        cuda::gemm(b.ctx, pix, wpatch, pe);  // patch conv as a GEMM (class token row not modelled)
        cuda::add(b.ctx, h, pos, h);
        cuda::layer_norm(b.ctx, h, lnw, lnb, 1e-5f, h);
        for (int l = 0; l < layers; ++l) {
          cuda::layer_norm(b.ctx, h, lnw, lnb, 1e-5f, a);
          cuda::GemmOptions ob;
          ob.bias = &bqkv;
          cuda::gemm(b.ctx, a, wqkv, qkv.view({tiles * S, 3 * W}), ob);
          Tensor qv = qkv.select(2, 0), kv = qkv.select(2, 1), vv = qkv.select(2, 2);
          cuda::flash_attention(b.ctx, qv, kv, vv, att, 1.f / 8.f, false);
          cuda::GemmOptions oo;
          oo.bias = &bo;
          oo.accumulate = true;  // residual add fused into the out-projection
          cuda::gemm(b.ctx, att.view({tiles * S, W}), wo, h, oo);
          cuda::layer_norm(b.ctx, h, lnw, lnb, 1e-5f, a);
          cuda::GemmOptions o1;
          o1.bias = &b1;
          cuda::gemm(b.ctx, a, w1, mlp, o1);
          cuda::activation_inplace(b.ctx, mlp, "quick_gelu");
          cuda::GemmOptions o2;
          o2.bias = &b2;
          o2.accumulate = true;
          cuda::gemm(b.ctx, mlp, w2, h, o2);
        }
      },
      0, fl, 5);
  // Where the tower's time goes (one layer's pieces, same shapes).
  b.report(
      "vit_part attention 37x16 heads x 577",
      [&] {
        cuda::flash_attention(b.ctx, qkv.select(2, 0), qkv.select(2, 1), qkv.select(2, 2), att,
                              1.f / 8.f, false);
      },
      0, 4.0 * tiles * S * S * W, 10);
  b.report(
      "vit_part qkv gemm (bias)",
      [&] {
        cuda::GemmOptions ob;
        ob.bias = &bqkv;
        cuda::gemm(b.ctx, a, wqkv, qkv.view({tiles * S, 3 * W}), ob);
      },
      0, 2.0 * tiles * S * W * 3 * W, 10);
  b.report(
      "vit_part fc1 gemm (bias) + quick_gelu",
      [&] {
        cuda::GemmOptions o1;
        o1.bias = &b1;
        cuda::gemm(b.ctx, a, w1, mlp, o1);
        cuda::activation_inplace(b.ctx, mlp, "quick_gelu");
      },
      0, 2.0 * tiles * S * W * M, 10);
  b.report(
      "vit_part fc2 gemm (bias, residual)",
      [&] {
        cuda::GemmOptions o2;
        o2.bias = &b2;
        o2.accumulate = true;
        cuda::gemm(b.ctx, mlp, w2, h, o2);
      },
      0, 2.0 * tiles * S * W * M, 10);
  b.report(
      "vit_part layer_norm", [&] { cuda::layer_norm(b.ctx, h, lnw, lnb, 1e-5f, a); },
      4.0 * tiles * S * W, 0, 10);
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path, only, lightning_variants, softmax_tunings, softmax_lengths = "8192,32768";
  int vit_layers = 24;
  bool softmax_long = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json") && i + 1 < argc)
      json_path = argv[++i];
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else if (!std::strcmp(argv[i], "--softmax-128k"))
      softmax_long = true;
    else if (!std::strcmp(argv[i], "--lightning-variants") && i + 1 < argc)
      lightning_variants = argv[++i];
    else if (!std::strcmp(argv[i], "--softmax-tunings") && i + 1 < argc)
      softmax_tunings = argv[++i];
    else if (!std::strcmp(argv[i], "--softmax-lengths") && i + 1 < argc)
      softmax_lengths = argv[++i];
    else if (!std::strcmp(argv[i], "--vit-layers") && i + 1 < argc)
      vit_layers = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: ops_cuda_bench [--json out.json] [--only "
                   "lightning|lightning_decode|layer|softmax|softmax_decode|softmax_tunings|moe|"
                   "moe_batch|vit] [--vit-layers N] [--softmax-128k]\n"
                   "       [--lightning-variants ws,dv32,dv64,sm90s2,...,sm90w4]\n"
                   "       [--only softmax_tunings --softmax-tunings "
                   "k128,k128_lpt,k128f_persistent_lpt,...\n"
                   "        --softmax-lengths 8192,32768]\n");
      return 2;
    }
  }
  try {
    if (cuda::device_count() == 0) {
      std::fprintf(stderr, "ops_cuda_bench: no CUDA device\n");
      return 1;
    }
    cuda::Context ctx(0);
    Bench b{ctx};
    b.bw = cuda::measure_copy_bandwidth(ctx);
    b.flops = cuda::measure_gemm_flops(ctx);
    std::printf("GPU: %s  copy %.2f TB/s  bf16 GEMM 8192^3 %.1f TFLOP/s\n",
                cuda::device_name(0).c_str(), b.bw / 1e12, b.flops / 1e12);
    auto want = [&](const char* s) { return only.empty() || only == s; };
    if (want("lightning")) bench_lightning(b, lightning_variants);
    if (want("layer")) bench_lightning_layer(b);
    if (want("softmax")) bench_softmax(b, softmax_long);
    if (only == "softmax_decode") bench_softmax_decode(b);
    if (only == "softmax_tunings") bench_softmax_tunings(b, softmax_tunings, softmax_lengths);
    if (want("moe")) bench_moe(b);
    if (only == "moe_batch") bench_moe_batch(b);
    if (only == "lightning_decode") bench_lightning_decode(b);
    if (want("vit")) bench_vit(b, vit_layers);
    if (!json_path.empty()) {
      json j = {{"gpu", cuda::device_name(0)},
                {"copy_bytes_per_s", b.bw},
                {"gemm_flops", b.flops},
                {"rows", b.rows}};
      std::ofstream(json_path) << j.dump(1);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "ops_cuda_bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
