// Decoder-layer stack benchmark (random bf16 weights, real shapes from the config).
// Layer = RMSNorm -> attention (lightning: fused qkv GEMM + SiLU, lightning core, gate GEMM,
// gated RMSNorm, out GEMM; softmax: fused qkv GEMM, partial RoPE, flash attention, out GEMM)
// -> DeepNorm residual RMSNorm -> MoE -> residual RMSNorm, using only kernels/cuda ops.
// To fit one GPU the 32 experts' weights (10.9 GB) are shared by all layers (each layer has
// its own router, so different experts stream per layer; L2 cannot hold them, so timings
// are unaffected). Decode appends nothing to the KV cache (a B x 4 KiB copy per softmax layer).
#include "kernels/bench/layer_stack_bench.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "kernels/bench/timing.h"
#include "kernels/core/error.h"
#include "kernels/core/json.h"
#include "kernels/cuda/activation.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/context.h"
#include "kernels/cuda/device_info.h"
#include "kernels/cuda/lightning.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/rms_norm.h"
#include "kernels/cuda/rope.h"
#include "kernels/cuda/storage.h"
#include "kernels/cuda/tensor_ops.h"

namespace mvl::cuda {

namespace {

struct Dims {
  int64_t D = 0, H = 0, Hkv = 0, d = 0, rot = 0, F = 0, E = 0, V = 0, L = 0;
  double theta = 1e7, alpha = 3.5565588200778455, eps = 1e-5;
  std::vector<int64_t> attn_type;
};

Dims read_dims(const std::string& path) {
  const json::Json root = json::parse_file(path);
  const json::Json& t =
      root.contains("text_config") ? json::get_object(root, "text_config", path) : root;
  const std::string w = path + " text_config";
  Dims d;
  d.D = json::get_int(t, "hidden_size", w);
  d.H = json::get_int(t, "num_attention_heads", w);
  d.Hkv = json::get_int(t, "num_key_value_heads", w);
  d.d = json::opt_int(t, "head_dim", w).value_or(d.D / d.H);
  d.rot = json::opt_int(t, "rotary_dim", w).value_or(d.d);
  d.F = json::get_int(t, "intermediate_size", w);
  d.E = json::get_int(t, "num_local_experts", w);
  d.V = json::opt_int(t, "vocab_size", w).value_or(200064);
  d.L = json::get_int(t, "num_hidden_layers", w);
  d.theta = json::opt_number(t, "rope_theta", w).value_or(1e7);
  d.alpha = json::opt_number(t, "layernorm_full_attention_alpha", w).value_or(3.5565588200778455);
  d.eps = json::opt_number(t, "rms_norm_eps", w).value_or(1e-5);
  d.attn_type = json::as_int_list(json::get_array(t, "attn_type_list", w), w + ".attn_type_list");
  MVL_CHECK(d.d == 128, unsupported, "{}: head_dim {} (the CUDA kernels need 128)", path, d.d);
  return d;
}

struct Layer {
  bool softmax = false;
  Tensor norm_in, norm_post;  // bf16 [D]
  Tensor wqkv;                // lightning: [3*H*d, D] per-head [q|k|v]; softmax: [(H+2Hkv)*d, D]
  Tensor wgate, wnorm;        // lightning: [H*d, D], [H*d]
  Tensor wo;                  // [D, H*d]
  Tensor slopes;              // f32 [H]
  Tensor router;              // bf16 [E, D]
};

}  // namespace

StackBenchReport run_stack_bench(const StackBenchOptions& opt) {
  MVL_CHECK(opt.layers >= 1, invalid_argument, "bench: --layers must be >= 1 (got {})", opt.layers);
  MVL_CHECK(opt.tokens >= 1, invalid_argument, "bench: --tokens must be >= 1 (got {})", opt.tokens);
  MVL_CHECK(opt.decode_batch >= 1 && opt.decode_batch <= kMoeDecodeMaxTokens, invalid_argument,
            "bench: --decode-batch must be 1..{} (got {})", kMoeDecodeMaxTokens, opt.decode_batch);
  const Dims dm = read_dims(opt.config_path);
  MVL_CHECK(opt.layers <= dm.L && static_cast<int64_t>(dm.attn_type.size()) >= opt.layers,
            invalid_argument, "bench: --layers {} exceeds the model's {} layers", opt.layers, dm.L);
  MVL_CHECK(device_count() > opt.device, unsupported, "bench: no CUDA device {} on this machine",
            opt.device);
  Context ctx(opt.device);
  StackBenchReport rep;
  rep.gpu = device_name(opt.device);
  const double bw = measure_copy_bandwidth(ctx), fl = measure_gemm_flops(ctx);
  rep.copy_tbs = bw / 1e12;
  rep.gemm_tflops = fl / 1e12;

  uint64_t seed = 1;
  auto rnd = [&](const Shape& s, DType dt, float lo, float hi) {
    Tensor t = empty(s, dt, ctx);
    fill_uniform(ctx, t.data(), t.numel(), dt == DType::bf16, lo, hi, seed++);
    return t;
  };
  const int64_t D = dm.D, H = dm.H, Hkv = dm.Hkv, d = dm.d, T = opt.tokens, B = opt.decode_batch;
  const float wscale = 1.f / std::sqrt(static_cast<float>(D));
  std::vector<Layer> layers(opt.layers);
  double weight_bytes = 0;
  for (int l = 0; l < opt.layers; ++l) {
    Layer& y = layers[l];
    y.softmax = dm.attn_type[l] == 1;
    y.norm_in = rnd({D}, DType::bf16, 0.8f, 1.2f);
    y.norm_post = rnd({D}, DType::bf16, 0.8f, 1.2f);
    y.router = rnd({dm.E, D}, DType::bf16, -wscale, wscale);
    if (y.softmax) {
      y.wqkv = rnd({(H + 2 * Hkv) * d, D}, DType::bf16, -wscale, wscale);
    } else {
      y.wqkv = rnd({3 * H * d, D}, DType::bf16, -wscale, wscale);
      y.wgate = rnd({H * d, D}, DType::bf16, -wscale, wscale);
      y.wnorm = rnd({H * d}, DType::bf16, 0.8f, 1.2f);
      std::vector<float> s(H);
      const double factor = 1.0 - l / static_cast<double>(dm.L - 1) + 1e-5;
      for (int64_t h = 0; h < H; ++h)
        s[h] = static_cast<float>(std::pow(2.0, -(h + 1) * 8.0 / H)) * static_cast<float>(factor);
      y.slopes = to_device(Tensor::from_f32({H}, s), ctx);
    }
    y.wo = rnd({D, H * d}, DType::bf16, -wscale, wscale);
    weight_bytes += 2.0 * (y.wqkv.numel() + y.wo.numel() + (y.softmax ? 0 : y.wgate.numel()) +
                           y.router.numel());
  }
  MoeWeights experts{Tensor(), rnd({dm.E, 2 * dm.F, D}, DType::bf16, -wscale, wscale),
                     rnd({dm.E, D, dm.F}, DType::bf16, -1.f / std::sqrt(float(dm.F)),
                         1.f / std::sqrt(float(dm.F)))};
  Tensor final_norm = rnd({D}, DType::bf16, 0.8f, 1.2f);
  Tensor lm_head = opt.lm_head ? rnd({dm.V, D}, DType::bf16, -wscale, wscale) : Tensor();

  // ---- prefill (one sequence of T tokens)
  Tensor x = rnd({T, D}, DType::bf16, -1.f, 1.f), a = empty({T, D}, DType::bf16, ctx);
  Tensor attn = empty({T, D}, DType::bf16, ctx), moe_out = empty({T, D}, DType::bf16, ctx);
  Tensor qkv = empty({T, 3 * H * d}, DType::bf16, ctx), g = empty({T, H * d}, DType::bf16, ctx);
  Tensor o = empty({T, H, d}, DType::bf16, ctx), y8 = empty({T, H * d}, DType::bf16, ctx);
  Tensor st = zeros({1, H, d, d}, DType::f32, ctx);
  std::vector<int32_t> posv(T);
  for (int64_t i = 0; i < T; ++i) posv[i] = static_cast<int32_t>(i);
  Tensor pos_h = Tensor::empty({T}, DType::i32);
  std::copy(posv.begin(), posv.end(), pos_h.data<int32_t>());
  Tensor pos = to_device(pos_h, ctx);

  auto attention_prefill = [&](const Layer& y, const Tensor& in, const Tensor& out) {
    if (!y.softmax) {
      gemm(ctx, in, y.wqkv, qkv);
      activation_inplace(ctx, qkv, "silu");
      Tensor f = qkv.view({T, H, 3 * d});
      lightning_prefill(ctx, f.slice(2, 0, d), f.slice(2, d, 2 * d), f.slice(2, 2 * d, 3 * d),
                        y.slopes, st, o);
      gemm(ctx, in, y.wgate, g);
      gated_rms_norm(ctx, o.view({T, H * d}), y.wnorm, 1e-6f, g, y8);
      gemm(ctx, y8, y.wo, out);
    } else {
      Tensor f = qkv.slice(1, 0, (H + 2 * Hkv) * d);  // reuse the buffer as [T, (H+2Hkv)d]
      Tensor fc = Tensor(f.storage(), f.offset_bytes(), {T, (H + 2 * Hkv) * d},
                         {(H + 2 * Hkv) * d, 1}, DType::bf16);
      gemm(ctx, in, y.wqkv, fc);
      Tensor k = Tensor(fc.storage(), fc.offset_bytes() + H * d * 2, {T, Hkv, d},
                        {(H + 2 * Hkv) * d, d, 1}, DType::bf16);
      Tensor v = Tensor(fc.storage(), fc.offset_bytes() + (H + Hkv) * d * 2, {T, Hkv, d},
                        {(H + 2 * Hkv) * d, d, 1}, DType::bf16);
      Tensor qv = Tensor(fc.storage(), fc.offset_bytes(), {T, H, d}, {(H + 2 * Hkv) * d, d, 1},
                         DType::bf16);
      rope_partial(ctx, qv, pos, static_cast<int>(dm.rot), static_cast<float>(dm.theta));
      rope_partial(ctx, k, pos, static_cast<int>(dm.rot), static_cast<float>(dm.theta));
      flash_attention(ctx, qv, k, v, o, 1.f / std::sqrt(static_cast<float>(d)), true);
      gemm(ctx, o.view({T, H * d}), y.wo, out);
    }
  };
  auto layer_prefill = [&](const Layer& y, const Tensor& hidden_in_normed, Tensor& next_normed,
                           const Layer* next) {
    attention_prefill(y, hidden_in_normed, attn);
    residual_rms_norm(ctx, hidden_in_normed, static_cast<float>(dm.alpha), attn, y.norm_post,
                      static_cast<float>(dm.eps), attn);  // b = RMSNorm_post(α a + Attn(a))
    MoeWeights w{y.router, experts.w13, experts.w2};
    moe_forward(ctx, attn, w, moe_out);
    const Tensor& nw = next ? next->norm_in : final_norm;
    residual_rms_norm(ctx, attn, static_cast<float>(dm.alpha), moe_out, nw,
                      static_cast<float>(dm.eps), next_normed);
  };
  auto stack_prefill = [&] {
    rms_norm(ctx, x, layers[0].norm_in, static_cast<float>(dm.eps), a);
    for (size_t l = 0; l < layers.size(); ++l)
      layer_prefill(layers[l], a, a, l + 1 < layers.size() ? &layers[l + 1] : nullptr);
  };
  auto add = [&](const std::string& name, double ms, double bytes, double flops,
                 const std::string& note = "") {
    rep.rows.push_back({name, ms, std::max(bytes / bw, flops / fl) * 1e3, note});
  };
  const double lin_fl = 2.0 * T * D * (5.0 * H * d),
               lin_core = 64.0 * (4.0 * d * d + 2.0 * 64 * d) * T;
  const double sm_fl = 2.0 * T * D * (2.0 * H * d + 2 * Hkv * d) + 2.0 * T * T * d * H;
  const double moe_fl = 2.0 * T * 2 * 3 * D * dm.F;
  int n_lin = 0, n_sm = 0;
  for (const Layer& y : layers) (y.softmax ? n_sm : n_lin)++;
  const double stack_fl = n_lin * (lin_fl + lin_core) + n_sm * sm_fl + opt.layers * moe_fl;
  add("prefill stack " + std::to_string(opt.layers) + " layers, T=" + std::to_string(T),
      median(time_reps(ctx, stack_prefill, 1, opt.reps)), 0, stack_fl,
      std::to_string(n_lin) + " lightning + " + std::to_string(n_sm) +
          " softmax layers, each with MoE");
  for (const Layer& y : layers) {
    if (y.softmax) continue;
    add("prefill lightning attention block",
        median(time_reps(
            ctx, [&] { attention_prefill(y, a, attn); }, 1, opt.reps)),
        0, lin_fl + lin_core, "qkv/gate/out GEMMs + SiLU + core + gated norm");
    break;
  }
  for (const Layer& y : layers) {
    if (!y.softmax) continue;
    add("prefill softmax attention block",
        median(time_reps(
            ctx, [&] { attention_prefill(y, a, attn); }, 1, opt.reps)),
        0, sm_fl, "qkv/out GEMMs + RoPE + causal GQA flash attention");
    break;
  }
  {
    MoeWeights w{layers[0].router, experts.w13, experts.w2};
    add("prefill MoE block",
        median(time_reps(
            ctx, [&] { moe_forward(ctx, a, w, moe_out); }, 1, opt.reps)),
        0, moe_fl, "router + top-2 + permute + expert GEMMs + combine");
  }

  // ---- decode step: B sequences, context T, one token each
  Tensor xd = rnd({B, D}, DType::bf16, -1.f, 1.f), ad = empty({B, D}, DType::bf16, ctx);
  Tensor attn_d = empty({B, D}, DType::bf16, ctx), moe_d = empty({B, D}, DType::bf16, ctx);
  Tensor qkv_d = empty({B, 3 * H * d}, DType::bf16, ctx), g_d = empty({B, H * d}, DType::bf16, ctx);
  Tensor o_d = empty({B, H, d}, DType::bf16, ctx), y_d = empty({B, H * d}, DType::bf16, ctx);
  Tensor st_d = rnd({B, H, d, d}, DType::f32, -0.01f, 0.01f);
  Tensor kc = rnd({B, T, Hkv, d}, DType::bf16, -1.f, 1.f),
         vc = rnd({B, T, Hkv, d}, DType::bf16, -1.f, 1.f);
  Tensor lens_h = Tensor::empty({B}, DType::i32), posd_h = Tensor::empty({B}, DType::i32);
  for (int64_t b = 0; b < B; ++b)
    lens_h.data<int32_t>()[b] = posd_h.data<int32_t>()[b] = static_cast<int32_t>(T);
  Tensor lens = to_device(lens_h, ctx), posd = to_device(posd_h, ctx);
  Tensor logits = opt.lm_head ? empty({B, dm.V}, DType::f32, ctx) : Tensor();
  Tensor next_ids = empty({B}, DType::i32, ctx);
  auto decode_step = [&] {
    rms_norm(ctx, xd, layers[0].norm_in, static_cast<float>(dm.eps), ad);
    for (size_t l = 0; l < layers.size(); ++l) {
      const Layer& y = layers[l];
      if (!y.softmax) {
        gemm(ctx, ad, y.wqkv, qkv_d);
        activation_inplace(ctx, qkv_d, "silu");
        Tensor f = qkv_d.view({B, H, 3 * d});
        lightning_decode(ctx, f.slice(2, 0, d), f.slice(2, d, 2 * d), f.slice(2, 2 * d, 3 * d),
                         y.slopes, st_d, o_d);
        gemm(ctx, ad, y.wgate, g_d);
        gated_rms_norm(ctx, o_d.view({B, H * d}), y.wnorm, 1e-6f, g_d, y_d);
        gemm(ctx, y_d, y.wo, attn_d);
      } else {
        const int64_t W = (H + 2 * Hkv) * d;
        Tensor fc(qkv_d.storage(), qkv_d.offset_bytes(), {B, W}, {W, 1}, DType::bf16);
        gemm(ctx, ad, y.wqkv, fc);
        Tensor qv(fc.storage(), fc.offset_bytes(), {B, 1, H, d}, {W, W, d, 1}, DType::bf16);
        Tensor kv(fc.storage(), fc.offset_bytes() + H * d * 2, {B, Hkv, d}, {W, d, 1}, DType::bf16);
        Tensor qv3(fc.storage(), fc.offset_bytes(), {B, H, d}, {W, d, 1}, DType::bf16);
        rope_partial(ctx, qv3, posd, static_cast<int>(dm.rot), static_cast<float>(dm.theta));
        rope_partial(ctx, kv, posd, static_cast<int>(dm.rot), static_cast<float>(dm.theta));
        Tensor od = o_d.view({B, 1, H, d});
        flash_attention(ctx, qv, kc, vc, od, 1.f / std::sqrt(static_cast<float>(d)), true, 0, lens);
        gemm(ctx, o_d.view({B, H * d}), y.wo, attn_d);
      }
      residual_rms_norm(ctx, ad, static_cast<float>(dm.alpha), attn_d, y.norm_post,
                        static_cast<float>(dm.eps), attn_d);
      MoeWeights w{y.router, experts.w13, experts.w2};
      moe_forward(ctx, attn_d, w, moe_d);
      const Tensor& nw = l + 1 < layers.size() ? layers[l + 1].norm_in : final_norm;
      residual_rms_norm(ctx, attn_d, static_cast<float>(dm.alpha), moe_d, nw,
                        static_cast<float>(dm.eps), ad);
    }
    if (opt.lm_head) {
      gemm(ctx, ad, lm_head, logits);
      argmax(ctx, logits, next_ids);
    }
  };
  const double touched = dm.E * (1.0 - std::pow(1.0 - 2.0 / dm.E, double(B)));
  double dec_bytes = weight_bytes + opt.layers * touched * 3.0 * D * dm.F * 2 +
                     n_lin * 2.0 * B * H * d * d * 4 + n_sm * 2.0 * B * T * Hkv * d * 2 +
                     (opt.lm_head ? 2.0 * dm.V * D : 0);
  const std::string dname = "decode step " + std::to_string(opt.layers) +
                            " layers, B=" + std::to_string(B) + ", ctx=" + std::to_string(T) +
                            (opt.lm_head ? " + LM head" : "");
  add(dname + " (eager)", median(time_reps(ctx, decode_step, 2, opt.reps * 4)), dec_bytes, 0,
      "bytes: attention weights, touched experts, lightning states r+w, KV cache, LM head");
  try {
    add(dname + " (CUDA graph)", median(time_graph(ctx, decode_step, opt.reps * 4)), dec_bytes, 0,
        "whole step captured once; no host sync inside");
  } catch (const Error& e) {
    add(dname + " (CUDA graph)", NAN, dec_bytes, 0, std::string("capture failed: ") + e.what());
  }
  return rep;
}

}  // namespace mvl::cuda
