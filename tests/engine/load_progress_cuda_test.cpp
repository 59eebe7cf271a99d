// Load progress by bytes on a GPU (engine.h LoadProgress): the text model's bytes are counted
// as each weight reaches the device, so they arrive in many steps, and every byte is counted
// by "ready". Skips without a GPU (fails with MVL_REQUIRE_GPU=1).
#include <gtest/gtest.h>

#include "app/engine/core/engine.h"
#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"

namespace mvl::engine {
namespace {

TEST(LoadProgressCuda, UploadIsCountedInSteps) {
  if (!test::gpu_available()) {
    if (test::gpu_required()) FAIL() << "MVL_REQUIRE_GPU=1 but no usable CUDA device";
    GTEST_SKIP() << "no CUDA device";
  }
  const std::string dir = test::source_path("assets/models/tiny-random");
  const Checkpoint ck = Checkpoint::open(dir);
  EngineOptions o;
  o.model_dir = dir;
  o.backend = Backend::cuda;
  std::vector<LoadProgress> ev;
  auto e = Engine::open(o, LoadProgressFn([&](const LoadProgress& p) { ev.push_back(p); }));
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().stage, "ready");
  EXPECT_EQ(ev.back().bytes_done, ck.total_bytes());
  int text_steps = 0;
  for (size_t i = 1; i < ev.size(); ++i) {
    EXPECT_GE(ev[i].bytes_done, ev[i - 1].bytes_done);
    if (ev[i].stage == "text model" && ev[i].bytes_done > ev[i - 1].bytes_done) ++text_steps;
  }
  EXPECT_GE(text_steps, 10);
}

}  // namespace
}  // namespace mvl::engine
