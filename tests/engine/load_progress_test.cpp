// Load progress by bytes (engine.h LoadProgress) on the bundled tiny checkpoint: the total is
// every tensor's bytes as the safetensors headers give them, bytes and fraction only grow,
// the text model and the vision half report many steps between them (not one jump), the
// last event is "ready" with every byte counted, and the older fraction/stage callback
// still hears the same stages. A GPU run (gpu label) counts the upload instead.
#include <gtest/gtest.h>

#include <set>

#include "app/engine/core/engine.h"
#include "app/engine/loading/checkpoint.h"
#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"

namespace mvl::engine {
namespace {

std::string tiny() {
  return test::source_path("assets/models/tiny-random");
}

uint64_t tensor_bytes(const std::string& dir) {
  const Checkpoint ck = Checkpoint::open(dir);
  uint64_t n = 0;
  for (const auto& name : ck.names()) n += ck.info(name).end - ck.info(name).begin;
  return n;
}

void check_events(const std::vector<LoadProgress>& ev, uint64_t total) {
  ASSERT_GE(ev.size(), 5u);
  EXPECT_EQ(ev.front().stage, "config");
  EXPECT_EQ(ev.back().stage, "ready");
  EXPECT_DOUBLE_EQ(ev.back().fraction, 1.0);
  EXPECT_EQ(ev.back().bytes_done, total);
  EXPECT_EQ(ev.back().bytes_total, total);
  std::set<std::string> stages;
  int text_steps = 0, vision_steps = 0;
  for (size_t i = 0; i < ev.size(); ++i) {
    stages.insert(ev[i].stage);
    if (i == 0) continue;
    EXPECT_GE(ev[i].fraction, ev[i - 1].fraction) << i;
    EXPECT_GE(ev[i].bytes_done, ev[i - 1].bytes_done) << i;
    EXPECT_GE(ev[i].elapsed_ms, ev[i - 1].elapsed_ms) << i;
    EXPECT_LE(ev[i].bytes_done, ev[i].bytes_total) << i;
    if (ev[i].bytes_done > ev[i - 1].bytes_done) {
      if (ev[i].stage == "text model") ++text_steps;
      if (ev[i].stage == "vision") ++vision_steps;
    }
  }
  EXPECT_TRUE(stages.count("tokenizer") && stages.count("checkpoint") &&
              stages.count("text model") && stages.count("vision"));
  // By bytes, not one jump: the tiny model has dozens of tensors in each half.
  EXPECT_GE(text_steps, 10) << "text model bytes arrived in too few steps";
  EXPECT_GE(vision_steps, 5) << "vision bytes arrived in too few steps";
  // The weights fill the bar: between them they move it from ~2% to ~99%.
  double before_ready = 0;
  for (const auto& e : ev)
    if (e.stage != "ready") before_ready = e.fraction;
  EXPECT_GT(before_ready, 0.9);
}

std::vector<LoadProgress> open_and_record(EngineOptions o) {
  std::vector<LoadProgress> ev;
  auto e = Engine::open(o, LoadProgressFn([&](const LoadProgress& p) { ev.push_back(p); }));
  EXPECT_TRUE(e != nullptr);
  return ev;
}

TEST(LoadProgress, BytesOfTheTinyCheckpointOnTheCpu) {
  const uint64_t total = tensor_bytes(tiny());
  ASSERT_GT(total, 0u);
  EngineOptions o;
  o.model_dir = tiny();
  check_events(open_and_record(o), total);
}

TEST(LoadProgress, FractionCallbackStillWorks) {
  EngineOptions o;
  o.model_dir = tiny();
  std::vector<std::pair<double, std::string>> ev;
  auto e =
      Engine::open(o, ProgressFn([&](double f, const std::string& s) { ev.emplace_back(f, s); }));
  ASSERT_GE(ev.size(), 5u);
  for (size_t i = 1; i < ev.size(); ++i) EXPECT_GE(ev[i].first, ev[i - 1].first);
  EXPECT_EQ(ev.back().second, "ready");
  EXPECT_DOUBLE_EQ(ev.back().first, 1.0);
}

TEST(LoadProgress, AFailedLoadReportsNoReady) {
  EngineOptions o;
  o.model_dir = test::temp_dir("no-model") + "/missing";
  std::vector<LoadProgress> ev;
  EXPECT_THROW(Engine::open(o, LoadProgressFn([&](const LoadProgress& p) { ev.push_back(p); })),
               Error);
  for (const auto& p : ev) EXPECT_NE(p.stage, "ready");
}

}  // namespace
}  // namespace mvl::engine
