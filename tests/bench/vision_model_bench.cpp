// The vision half through the real model code (vision::VisionModel, ops:: dispatch), not raw
// cuda:: calls: random bf16 weights at the released shapes (configs/minimax-vl-01.json: CLIP
// ViT-L/14-336, 24 layers, projector 1024 -> 6144), an image (2016x2016: a 4x4 grid +
// thumbnail = 17 tiles; the released pinpoints allow at most 18 grid tiles + 1, so the 37-tile
// tower of ops_cuda_bench is a batch shape, not one image),
// timed per precision (bf16 = the fast path, f32 = the exact one): the batched ViT, the
// projector, encode() end to end, and the engine's tile-by-tile order. Compare the ViT row with
// kernels/bench/ops_cuda_bench --only vit (the same tower as raw kernel calls). Median of N.
// --epilogues: the ViT's residual adds and fc1 activation fused (VisionModelOptions::
// fused_epilogues, the default), op by op (plain, the path before), or both in one run.
// Usage: vision_model_bench [--image WxH] [--layers N] [--reps N] [--precision bf16|f32|both]
//                           [--epilogues fused|plain|both] [--device N]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "kernels/core/dtype.h"
#include "kernels/core/error.h"
#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "kernels/ops/device.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/support/test_util.h"
#include "vision/image/image.h"
#include "vision/model/packing.h"
#include "vision/model/vision_model.h"
#include "vision/preprocess/preprocess.h"

using namespace mvl;
using namespace mvl::vision;

namespace {

struct Rng {
  uint64_t s;
  float uniform() {  // [-1, 1)
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    return static_cast<float>(s >> 40) / static_cast<float>(1 << 23) - 1.0f;
  }
};

// Host bf16 [shape] with values center + spread * U(-1, 1).
Tensor rand_bf16(const Shape& shape, Rng& rng, float spread, float center = 0.0f) {
  Tensor t = Tensor::empty(shape, DType::bf16);
  auto* p = t.data<uint16_t>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = f32_to_bf16(center + spread * rng.uniform());
  return t;
}

// A released-layout checkpoint with random weights for cfg + a projector to text_hidden.
void write_random_checkpoint(const std::string& path, const VisionConfig& c, int64_t text_hidden) {
  Rng rng{0x9E3779B97F4A7C15ull};
  SafetensorsWriter w;
  const std::string t = "vision_tower.vision_model.";
  const int64_t D = c.hidden_size, I = c.intermediate_size, K = c.num_channels * c.patch_size * c.patch_size;
  auto lin = [&](const std::string& name, int64_t out, int64_t in) {
    w.add(name + ".weight", rand_bf16({out, in}, rng, 1.7f / std::sqrt(static_cast<float>(in))));
    w.add(name + ".bias", rand_bf16({out}, rng, 0.05f));
  };
  auto norm = [&](const std::string& name) {
    w.add(name + ".weight", rand_bf16({D}, rng, 0.2f, 1.0f));
    w.add(name + ".bias", rand_bf16({D}, rng, 0.05f));
  };
  w.add(t + "embeddings.patch_embedding.weight",
        rand_bf16({D, c.num_channels, c.patch_size, c.patch_size}, rng, 1.7f / std::sqrt(static_cast<float>(K))));
  w.add(t + "embeddings.class_embedding", rand_bf16({D}, rng, 0.5f));
  w.add(t + "embeddings.position_embedding.weight", rand_bf16({c.num_positions(), D}, rng, 0.5f));
  norm(t + "pre_layrnorm");
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = t + "encoder.layers." + std::to_string(l) + ".";
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) lin(p + "self_attn." + proj, D, D);
    norm(p + "layer_norm1");
    norm(p + "layer_norm2");
    lin(p + "mlp.fc1", I, D);
    lin(p + "mlp.fc2", D, I);
  }
  lin("multi_modal_projector.linear_1", text_hidden, D);
  lin("multi_modal_projector.linear_2", text_hidden, text_hidden);
  w.add("image_newline", rand_bf16({text_hidden}, rng, 1.0f));
  w.write(path);
}

// A synthetic RGB image (smooth pattern + noise) of w x h.
Image make_image(int64_t w, int64_t h) {
  Image img;
  img.width = w;
  img.height = h;
  img.format = "png";
  img.source_mode = "RGB";
  img.rgb.resize(static_cast<size_t>(w * h * 3));
  Rng rng{12345};
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        const float v = 128.0f + 60.0f * std::sin(0.01f * x * (c + 1) + 0.013f * y) + 40.0f * rng.uniform();
        img.rgb[static_cast<size_t>((y * w + x) * 3 + c)] = static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f));
      }
  return img;
}

template <class F>
double median_ms(const ops::DeviceContext& dev, int reps, F&& f) {
  f();  // warm-up: GEMM plans, memory pool
  dev.synchronize();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    dev.synchronize();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

int usage() {
  std::fprintf(stderr,
               "usage: vision_model_bench [--image WxH (2016x2016: 17 tiles)] [--layers N (24)] [--reps N (5)]\n"
               "                          [--precision bf16|f32|both (both)] [--epilogues fused|plain|both (fused)]\n"
               "                          [--device N (0)]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t img_w = 2016, img_h = 2016;
  int layers = 24, reps = 5, device = 0;
  std::string precision = "both", epilogues = "fused";
  for (int i = 1; i < argc; ++i) {
    const bool has = i + 1 < argc;
    if (!std::strcmp(argv[i], "--image") && has) {
      if (std::sscanf(argv[++i], "%ldx%ld", &img_w, &img_h) != 2) return usage();
    } else if (!std::strcmp(argv[i], "--layers") && has) {
      layers = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--reps") && has) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--precision") && has) {
      precision = argv[++i];
    } else if (!std::strcmp(argv[i], "--epilogues") && has) {
      epilogues = argv[++i];
    } else if (!std::strcmp(argv[i], "--device") && has) {
      device = std::atoi(argv[++i]);
    } else {
      return usage();
    }
  }
  if (precision != "bf16" && precision != "f32" && precision != "both") return usage();
  if (epilogues != "fused" && epilogues != "plain" && epilogues != "both") return usage();
  try {
    if (ops::cuda_device_count() <= device) {
      std::fprintf(stderr, "vision_model_bench: no CUDA device %d (built with CUDA: %s)\n", device,
                   ops::cuda_built() ? "yes" : "no");
      return 1;
    }
    const json::Json cj = json::parse_file(test::source_path("configs/minimax-vl-01.json"));
    VisionConfig cfg = VisionConfig::from_json(cj.at("vision_config"), "minimax-vl-01 vision_config");
    MVL_CHECK(layers >= 1 && layers <= cfg.num_hidden_layers, invalid_argument, "--layers must be 1..{}",
              cfg.num_hidden_layers);
    cfg.num_hidden_layers = layers;
    VisionModelOptions opts;
    opts.text_hidden = cj.at("text_config").at("hidden_size").get<int64_t>();
    opts.projector_act = cj.at("projector_hidden_act").get<std::string>();
    opts.feature_layer = -1;

    const std::string path = (std::filesystem::temp_directory_path() /
                              ("mvl_vision_bench_" + std::to_string(::getpid()) + ".safetensors"))
                                 .string();
    write_random_checkpoint(path, cfg, opts.text_hidden);
    const Checkpoint ckpt = Checkpoint::open(path);
    const PreprocessResult pre = preprocess(make_image(img_w, img_h), PreprocessConfig{});
    const int64_t T = pre.num_tiles(), N = cfg.num_positions(), D = cfg.hidden_size, I = cfg.intermediate_size;
    const double vit_flop = layers * (2.0 * T * N * (4.0 * D * D + 2.0 * D * I) + 4.0 * T * N * N * D) +
                            2.0 * T * (N - 1) * D * cfg.num_channels * cfg.patch_size * cfg.patch_size;
    const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(device));
    std::printf("GPU %s | ViT %lld layers x %lld wide, %lld tiles (%lldx%lld image), projector -> %lld, "
                "%lld image tokens | median of %d\n",
                ops::cuda_device_name(device).c_str(), static_cast<long long>(layers), static_cast<long long>(D),
                static_cast<long long>(T), static_cast<long long>(img_w), static_cast<long long>(img_h),
                static_cast<long long>(opts.text_hidden), static_cast<long long>(pre.image_tokens()), reps);
    std::printf("%-9s %-55s %12s %10s\n", "precision", "what", "median ms", "TFLOP/s");
    for (const DType act : {DType::bf16, DType::f32}) {
      for (const bool fused : {true, false}) {
        if (precision != "both" && precision != dtype_name(act)) continue;
        if (epilogues != "both" && (epilogues == "fused") != fused) continue;
        opts.fused_epilogues = fused;
        const std::string tag = fused ? " [fused]" : " [plain]";
        opts.activations = act;
        const VisionModel m = VisionModel::load(ckpt, cfg, opts, VisionWeightNames::released(), dev);
        const Tensor px = ops::to_device(pre.pixel_values, dev);
        auto row = [&](const std::string& what, double ms, double flop) {
          std::printf("%-9s %-55s %12.3f %10s\n", dtype_name(act), what.c_str(), ms,
                      flop > 0 ? fmt::format("{:.1f}", flop / ms / 1e9).c_str() : "");
        };
        row("vit_features, all tiles batched" + tag, median_ms(dev, reps, [&] { m.vit_features(px); }), vit_flop);
        const Tensor feats = m.vit_features(px);
        row("project" + tag, median_ms(dev, reps, [&] { m.project(feats); }),
            2.0 * T * (N - 1) * opts.text_hidden * (D + opts.text_hidden));
        row("encode (host pixels -> packed f32 rows)" + tag, median_ms(dev, reps, [&] { m.encode(pre); }), 0);
        row("engine order: ViT tile by tile + project + pack" + tag, median_ms(dev, reps, [&] {
              std::vector<Tensor> f;
              for (int64_t t = 0; t < T; ++t) f.push_back(m.vit_features(pre.pixel_values.slice(0, t, t + 1)));
              pack_image_features(m.project(ops::concat_rows(f).view({T, N - 1, D})), m.image_newline(), pre.layout);
            }),
            0);
      }
    }
    std::filesystem::remove(path);
  } catch (const Error& e) {
    std::fprintf(stderr, "vision_model_bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
