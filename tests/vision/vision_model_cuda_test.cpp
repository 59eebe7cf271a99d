// End-to-end CUDA parity for the vision half: the same VisionModel code on CUDA tensors
// (weights uploaded once as bf16, f32 embeddings/newline as f32, host pixels copied up
// once) must give the CPU's packed image features on the bundled tiny model, for a 336x336
// image (base tile + one grid tile) and a multi-tile one, with f32 activations (the exact
// path; bf16 activations are checked against transformers in vision_bf16_golden_cuda_test). Both sides read the same bf16
// weights and f32 pixels, so only f32 summation order differs: rel L2 <= 1e-5 and
// max|err| <= 1e-4 max|x|. Labelled gpu (_cuda_test): skips without a GPU, fails under
// MVL_REQUIRE_GPU=1; it only uses ops::/vision:: so it also compiles in CPU-only builds.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "kernels/ops/device.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/support/test_util.h"
#include "vision/image/image.h"
#include "vision/model/vision_model.h"
#include "vision/preprocess/preprocess.h"

namespace mvl::vision {
namespace {

const std::string kDir = "assets/models/tiny-random";

struct Tiny {
  VisionConfig cfg;
  PreprocessConfig pre;
  VisionModelOptions opts;
};

Tiny tiny_config() {
  const std::string dir = test::source_path(kDir);
  const json::Json c = json::parse_file(dir + "/config.json");
  Tiny t;
  t.cfg = VisionConfig::from_json(c.at("vision_config"), "tiny vision_config");
  t.pre = PreprocessConfig::from_json(json::parse_file(dir + "/preprocessor_config.json"), "tiny preprocessor");
  t.opts.text_hidden = c.at("text_config").at("hidden_size").get<int64_t>();
  t.opts.feature_layer = c.at("vision_feature_layer").get<int64_t>();
  t.opts.select_strategy = c.at("vision_feature_select_strategy").get<std::string>();
  t.opts.projector_act = c.at("projector_hidden_act").get<std::string>();
  t.opts.activations = DType::f32;  // the exact path (bf16 is the CUDA default)
  return t;
}

struct Diff {
  double rel_l2 = INFINITY, max_err = INFINITY, max_ref = 0;
};

Diff compare(const Tensor& gpu, const Tensor& cpu) {
  EXPECT_TRUE(gpu.device().is_cuda()) << gpu.str();
  EXPECT_TRUE(cpu.device().is_cpu()) << cpu.str();
  const Tensor g = ops::to_device(gpu, Device::cpu());
  const Tensor c = contiguous(cpu);
  EXPECT_EQ(g.shape(), c.shape());
  Diff d;
  if (g.shape() != c.shape()) return d;
  double num = 0, den = 0;
  d.max_err = 0;
  for (int64_t i = 0; i < c.numel(); ++i) {
    const double a = g.data<float>()[i], b = c.data<float>()[i];
    if (!std::isfinite(a)) return Diff{};
    num += (a - b) * (a - b);
    den += b * b;
    d.max_err = std::max(d.max_err, std::fabs(a - b));
    d.max_ref = std::max(d.max_ref, std::fabs(b));
  }
  d.rel_l2 = std::sqrt(num / std::max(den, 1e-30));
  return d;
}

void expect_close(const Tensor& gpu, const Tensor& cpu, const std::string& what) {
  const Diff d = compare(gpu, cpu);
  std::printf("  %-34s rel L2 %.3g, max abs err %.3g, max |x| %.3g\n", what.c_str(), d.rel_l2, d.max_err,
              d.max_ref);
  EXPECT_GT(d.max_ref, 0.0) << what;
  EXPECT_LE(d.rel_l2, 1e-5) << what;
  EXPECT_LE(d.max_err, 1e-4 * d.max_ref) << what;
}

class VisionModelCuda : public ::testing::TestWithParam<std::string> {};

TEST_P(VisionModelCuda, TinyModelPackedFeaturesMatchCpu) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const Tiny t = tiny_config();
  const Checkpoint ckpt = Checkpoint::open(test::source_path(kDir));
  const VisionModel cpu = VisionModel::load(ckpt, t.cfg, t.opts, VisionWeightNames::released());
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  const VisionModel gpu = VisionModel::load(ckpt, t.cfg, t.opts, VisionWeightNames::released(), dev);
  EXPECT_TRUE(gpu.device().is_cuda());
  EXPECT_TRUE(gpu.image_newline().device().is_cuda());
  EXPECT_TRUE(gpu.vit().weights().patch_w.device().is_cuda());
  EXPECT_EQ(gpu.vit().weights().layers.at(0).fc1_w.dtype(), DType::bf16);
  EXPECT_EQ(gpu.vit().weights().pos_emb.dtype(), DType::f32);

  const Image img = decode_image_file(test::source_path("tests/golden/vision/images/" + GetParam()));
  const PreprocessResult pre = preprocess(img, t.pre);
  ASSERT_TRUE(pre.pixel_values.device().is_cpu());
  std::printf("  %s: %lld tiles, %lld image tokens\n", GetParam().c_str(),
              static_cast<long long>(pre.pixel_values.dim(0)), static_cast<long long>(pre.layout.image_tokens()));

  // Host pixels in, device features out; each stage against the CPU.
  const Tensor fc = cpu.vit_features(pre.pixel_values), fg = gpu.vit_features(pre.pixel_values);
  expect_close(fg, fc, "vit_features");
  const Tensor pc = cpu.project(fc), pg = gpu.project(fg);
  expect_close(pg, pc, "project");
  const Tensor packed_c = cpu.encode(pre), packed_g = gpu.encode(pre);
  EXPECT_EQ(packed_g.shape(), (Shape{pre.layout.image_tokens(), t.opts.text_hidden}));
  expect_close(packed_g, packed_c, "encode (packed rows)");

  // Tile by tile (as the engine encodes, so a cancel can land between tiles) is the same.
  std::vector<Tensor> per_tile;
  for (int64_t i = 0; i < pre.pixel_values.dim(0); ++i)
    per_tile.push_back(gpu.vit_features(pre.pixel_values.slice(0, i, i + 1)));
  expect_close(ops::concat_rows(per_tile), fc, "vit_features tile by tile");

  // The bf16-pixel rounding of the reference script also runs on the device.
  VisionModelOptions o16 = t.opts;
  o16.bf16_pixels = true;
  const VisionModel cpu16 = VisionModel::load(ckpt, t.cfg, o16);
  const VisionModel gpu16 = VisionModel::load(ckpt, t.cfg, o16, VisionWeightNames::released(), dev);
  expect_close(gpu16.vit_features(pre.pixel_values), cpu16.vit_features(pre.pixel_values), "vit_features bf16 pixels");
}

INSTANTIATE_TEST_SUITE_P(Images, VisionModelCuda,
                         ::testing::Values("rgb_exact_336x336.png", "rgb_500x300.png", "rgb_130x720.png"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param.substr(0, i.param.find('.'));
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace mvl::vision
