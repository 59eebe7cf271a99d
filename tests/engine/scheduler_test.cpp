// Continuous batching in the Engine (app/engine/core/step_scheduler.h) with the fake model:
// concurrent requests of different sessions share decode steps and answer exactly what each
// answers alone; a lone request never waits on a batch; cancelling one stream leaves the
// others running; an arrival joins while others decode; a model failure reaches every
// request of that step as an error, never a hang.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "app/engine/core/engine.h"
#include "app/engine/testing/fake_model.h"

namespace mvl::engine {
namespace {

using testing::FakeOptions;
using testing::FakeStats;

std::unique_ptr<Engine> make_engine(FakeOptions o = {}, int max_running = 64) {
  EngineOptions eo;
  eo.max_running = max_running;
  return std::make_unique<Engine>(testing::make_fake_model(o, std::make_shared<FakeStats>()), eo);
}

Request turn(std::shared_ptr<Session> s, std::string text, int64_t max_tokens) {
  Request r;
  r.session = std::move(s);
  r.content.push_back(ContentPart::make_text(std::move(text)));
  r.options.max_tokens = max_tokens;
  return r;
}

std::string prompt(int i) {
  return "question number " + std::to_string(i * 7919 % 1000);
}

TEST(Scheduler, ConcurrentRequestsShareStepsAndAnswerAsAlone) {
  constexpr int kN = 12, kTokens = 24;
  std::vector<std::string> alone;
  {
    auto e = make_engine();
    for (int i = 0; i < kN; ++i) {
      RequestHandle h = e->submit(turn(e->new_session(), prompt(i), kTokens));
      h.wait();
      ASSERT_TRUE(h.done()) << h.error()->error.what();
      alone.push_back(h.done()->text);
    }
    const SchedulerStats st = e->scheduler_stats();
    EXPECT_EQ(st.max_batch(), 1);  // one at a time: nothing to batch
  }
  FakeOptions o;
  o.decode_delay_ms = 1;  // per sequence: a batch of B costs B ms in the fake
  auto e = make_engine(o);
  std::vector<RequestHandle> hs;
  for (int i = 0; i < kN; ++i) hs.push_back(e->submit(turn(e->new_session(), prompt(i), kTokens)));
  for (int i = 0; i < kN; ++i) {
    hs[i].wait();
    ASSERT_TRUE(hs[i].done()) << hs[i].error()->error.what();
    EXPECT_EQ(hs[i].done()->reason, StopReason::max_tokens);
    EXPECT_EQ(hs[i].done()->text, alone[static_cast<size_t>(i)]) << "request " << i;
  }
  const SchedulerStats st = e->scheduler_stats();
  EXPECT_EQ(st.decoded(), kN * (kTokens - 1));  // the first token of each comes from prefill
  EXPECT_GT(st.max_batch(), kN / 2);
  EXPECT_LT(st.steps(), st.decoded() / 2);  // most steps advanced several sequences
}

TEST(Scheduler, CancellingOneStreamLeavesTheOthers) {
  FakeOptions o;
  o.decode_delay_ms = 1;
  auto e = make_engine(o);
  std::vector<RequestHandle> hs;
  for (int i = 0; i < 4; ++i) hs.push_back(e->submit(turn(e->new_session(), prompt(i), 200)));
  hs[1].cancel();
  for (auto& h : hs) h.wait();
  EXPECT_EQ(hs[1].done()->reason, StopReason::cancelled);
  for (int i : {0, 2, 3}) {
    EXPECT_EQ(hs[i].done()->reason, StopReason::max_tokens) << i;
    EXPECT_EQ(hs[i].done()->usage.completion_tokens, 200) << i;
  }
}

TEST(Scheduler, ArrivalJoinsWhileOthersDecode) {
  FakeOptions o;
  o.decode_delay_ms = 1;
  auto e = make_engine(o);
  std::vector<RequestHandle> bg;
  for (int i = 0; i < 4; ++i) bg.push_back(e->submit(turn(e->new_session(), prompt(i), 400)));
  // Wait until the background requests are decoding, then one more arrives: it finishes long
  // before them (it does not wait for their 400 tokens).
  while (e->scheduler_stats().steps() < 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  RequestHandle late = e->submit(turn(e->new_session(), "late", 5));
  late.wait();
  ASSERT_TRUE(late.done());
  EXPECT_EQ(late.done()->usage.completion_tokens, 5);
  int still_running = 0;
  for (auto& h : bg) still_running += !h.finished();
  EXPECT_GT(still_running, 0);
  for (auto& h : bg) h.wait();
  for (auto& h : bg) EXPECT_EQ(h.done()->usage.completion_tokens, 400);
}

// Prefill call sizes: a lone request feeds its prompt in prefill_ubatch calls (one call for a
// prompt under it); while another request is decoding, in prefill_chunk calls, so the other's
// steps interleave (RequestRunner::feed).
TEST(Scheduler, LonePromptsPrefillInUbatchCallsSharedOnesInChunks) {
  auto stats = std::make_shared<FakeStats>();
  FakeOptions o;
  o.max_context = 1 << 16;
  o.decode_delay_ms = 1;
  EngineOptions eo;
  eo.prefill_chunk = 512;
  eo.prefill_ubatch = 4096;
  Engine e(testing::make_fake_model(o, stats), eo);
  const std::string long_text(3000, 'a');  // 3,000 byte ids + the chat template's few
  {
    RequestHandle h = e.submit(turn(e.new_session(), long_text, 1));
    h.wait();
    ASSERT_TRUE(h.done());
  }
  const int64_t positions = stats->prefilled_positions.load();
  ASSERT_GT(positions, 3000);
  ASSERT_LT(positions, 4096);
  // Alone: the turn's messages in one call (under prefill_ubatch), then the generation prompt.
  EXPECT_EQ(stats->prefill_calls.load(), 2);
  // The same prompt while another request decodes: calls of at most 512 positions.
  RequestHandle bg = e.submit(turn(e.new_session(), "background", 100000));
  while (e.scheduler_stats().steps() < 5) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const int64_t calls0 = stats->prefill_calls.load();
  RequestHandle h = e.submit(turn(e.new_session(), long_text, 1));
  h.wait();
  ASSERT_TRUE(h.done());
  EXPECT_GE(stats->prefill_calls.load() - calls0, 3000 / 512 + 1) << "shared: 512-position calls";
  bg.cancel();
  bg.wait();
}

TEST(Scheduler, MaxRunningQueuesTheRest) {
  FakeOptions o;
  o.decode_delay_ms = 1;
  auto e = make_engine(o, 2);
  std::vector<RequestHandle> hs;
  for (int i = 0; i < 6; ++i) hs.push_back(e->submit(turn(e->new_session(), prompt(i), 10)));
  for (auto& h : hs) {
    h.wait();
    EXPECT_TRUE(h.done());
  }
  EXPECT_LE(e->scheduler_stats().max_batch(), 2);
}

TEST(Scheduler, ModelFailureReachesEveryRequestOfTheStep) {
  FakeOptions o;
  o.fail_at_decode = 3;
  auto e = make_engine(o);
  std::vector<RequestHandle> hs;
  for (int i = 0; i < 5; ++i) hs.push_back(e->submit(turn(e->new_session(), prompt(i), 50)));
  for (auto& h : hs) {
    ASSERT_TRUE(h.wait_for(30000)) << "a request hung";
    EXPECT_TRUE(h.error().has_value());
  }
  // The engine still serves afterwards.
  RequestHandle h = e->submit(turn(e->new_session(), "after", 2));
  ASSERT_TRUE(h.wait_for(30000));
  EXPECT_TRUE(h.done().has_value());
}

}  // namespace
}  // namespace mvl::engine
