// The sharded text model on a VL prompt (assets/models/tiny-random, two images spliced in by
// their ViT + projector features): for N = 2 and 4 CPU ranks, prefill logits, 32 greedy
// decode steps, and a rewind to before the images followed by the same continuation all
// equal the single-device TextModel within 1e-5 of max |logit|.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "app/cli/command.h"
#include "app/engine/loading/checkpoint.h"
#include "kernels/ops/sampling.h"
#include "llm/parallel/sharded_text_model.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

double rel_err(const Tensor& a, const Tensor& b) {
  const Tensor x = contiguous(a), y = contiguous(b);
  EXPECT_EQ(x.shape(), y.shape());
  double m = 0, d = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    m = std::max(m, static_cast<double>(std::fabs(y.data<float>()[i])));
    d = std::max(d, static_cast<double>(std::fabs(x.data<float>()[i] - y.data<float>()[i])));
  }
  return d / m;
}

TEST(ShardedVl, ImagesInThePromptMatchOneDevice) {
  const std::string dir = test::source_path("assets/models/tiny-random");  // 4 heads: splits over tp 4
  const engine::ModelConfig cfg = engine::ModelConfig::load_dir(dir);
  const Checkpoint ckpt = Checkpoint::open(dir);
  const int32_t img = static_cast<int32_t>(cfg.image_token_index);
  const std::vector<std::string> images = {
      test::source_path("tests/golden/vision/images/rgb_500x300.png"),
      test::source_path("tests/golden/vision/images/rgb_tiny_20x15.png")};
  // The prompt 11 12 13 <img> 21 <img> 31 32, each image as its ViT + projector rows (the
  // engine's vision half on the CPU, f32).
  struct Spliced {
    std::vector<llm::Segment> segments;
    int64_t positions = 0;
  } p;
  {
    const auto vision = engine::load_vision_encoder(cfg, ckpt);
    ASSERT_NE(vision, nullptr);
    std::vector<int32_t> run;
    size_t k = 0;
    for (int32_t id : std::vector<int32_t>{11, 12, 13, img, 21, img, 31, 32}) {
      if (id != img) {
        run.push_back(id);
        continue;
      }
      if (!run.empty()) p.segments.push_back(llm::Segment::tokens(std::move(run)));
      run.clear();
      p.segments.push_back(llm::Segment::rows(vision->encode(*vision->prepare(images[k++]), {})));
    }
    if (!run.empty()) p.segments.push_back(llm::Segment::tokens(std::move(run)));
    for (const auto& s : p.segments) p.positions += s.size();
  }
  ASSERT_GE(p.segments.size(), 4u);
  // Split: the text before the first image, then the images and the rest.
  const std::vector<llm::Segment> head(p.segments.begin(), p.segments.begin() + 1);
  const std::vector<llm::Segment> rest(p.segments.begin() + 1, p.segments.end());
  const llm::TextModel one =
      llm::TextModel::load(ckpt, cfg.text, llm::TextWeightNaming::detect(ckpt));
  llm::PrefillOptions all;
  all.all_logits = true;
  for (int tp : {2, 4}) {
    SCOPED_TRACE("tp " + std::to_string(tp));
    const llm::ShardedTextModel sm =
        llm::ShardedTextModel::load(ckpt, cfg.text, llm::TextWeightNaming::detect(ckpt), tp);
    llm::SequenceState st = one.new_state();
    llm::ShardedState sst = sm.new_state();
    EXPECT_LE(rel_err(sm.prefill(head, sst, all), one.prefill(head, st, all)), 1e-5);
    const auto snap = st.snapshot();
    const auto ssnap = sst.snapshot();
    double worst = 0;
    for (int pass = 0; pass < 2; ++pass) {  // pass 1 runs after rewinding to before the images
      const Tensor ref = one.prefill(rest, st, all);
      worst = std::max(worst, rel_err(sm.prefill(rest, sst, all), ref));
      Tensor last = ref.select(0, ref.dim(0) - 1);
      for (int i = 0; i < 32; ++i) {
        const int32_t t = ops::argmax(last);
        last = one.decode(t, st);
        worst = std::max(worst, rel_err(sm.decode(t, sst), last));
      }
      st.restore(snap);
      sst.restore(ssnap);
    }
    EXPECT_LE(worst, 1e-5);
    std::printf("tiny VL model, %lld positions with 2 images, tp %d: worst relative error %.2e\n",
                static_cast<long long>(p.positions), tp, worst);
  }
}

}  // namespace
}  // namespace mvl
