// The decode loop's run-ahead (app/engine/core/decode_loop.h), on the CPU through the fake
// model flagged asynchronous (as a GPU model is): queuing the next step before the host reads
// the id must not change a single answer or stop reason across turns that stop at EOS, at a
// stop string and at max tokens (nor what later turns see), nor a raw request's ids.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app/engine/core/engine.h"
#include "app/engine/testing/fake_model.h"

namespace mvl::engine {
namespace {

using testing::FakeOptions;
using testing::FakeStats;

struct ChatRun {
  std::vector<std::vector<int32_t>> tokens;
  std::vector<std::string> texts;
  std::vector<StopReason> reasons;
  std::vector<int64_t> lengths;
  int64_t decode_calls = 0;
};

DoneEvent submit_ok(Engine& e, Request r) {
  RequestHandle h = e.submit(std::move(r));
  h.wait();
  if (h.error()) ADD_FAILURE() << h.error()->error.what();
  return h.done() ? *h.done() : DoneEvent{};
}

// Four chat turns: EOS-stopped (eos_after), stop-string-stopped, max-token-stopped, then one
// more whose answer depends on everything the state was fed before it.
ChatRun chat(bool asynchronous, int64_t eos_after, const std::string& stop) {
  FakeOptions o;
  o.asynchronous = asynchronous;
  o.eos_after = eos_after;
  auto stats = std::make_shared<FakeStats>();
  Engine e(testing::make_fake_model(o, stats), EngineOptions{}, 0);
  auto s = e.new_session();
  ChatRun run;
  const std::vector<std::string> prompts = {"hello", "and then?", "more", "last"};
  for (size_t i = 0; i < prompts.size(); ++i) {
    Request r;
    r.session = s;
    r.content.push_back(ContentPart::make_text(prompts[i]));
    r.options.max_tokens = i == 2 ? 3 : 40;
    if (i == 1 && !stop.empty()) r.options.stop_strings = {stop};
    const DoneEvent d = submit_ok(e, std::move(r));
    run.tokens.push_back(d.tokens);
    run.texts.push_back(d.text);
    run.reasons.push_back(d.reason);
    run.lengths.push_back(s->context_length());
  }
  run.decode_calls = stats->decode_calls.load();
  return run;
}

// Same answers; the state after a turn that stopped at EOS or a stop string holds one more
// position when running ahead (that id was fed while the host read it; it is then owed one id
// less), and the same after a max-tokens stop. Later answers prove the states are equivalent.
void expect_same(const ChatRun& sync, const ChatRun& ahead) {
  EXPECT_EQ(sync.tokens, ahead.tokens);
  EXPECT_EQ(sync.texts, ahead.texts);
  EXPECT_EQ(sync.reasons, ahead.reasons);
  ASSERT_EQ(sync.lengths.size(), ahead.lengths.size());
  for (size_t i = 0; i < sync.lengths.size(); ++i) {
    const bool fed =
        sync.reasons[i] == StopReason::eos || sync.reasons[i] == StopReason::stop_string;
    EXPECT_EQ(ahead.lengths[i], sync.lengths[i] + (fed ? 1 : 0)) << "turn " << i;
  }
}

TEST(DecodeLoop, RunAheadKeepsChatAnswersAtEos) {
  const ChatRun sync = chat(false, 6, "");
  const ChatRun ahead = chat(true, 6, "");
  ASSERT_EQ(sync.reasons[0], StopReason::eos);
  ASSERT_EQ(sync.reasons[2], StopReason::max_tokens);
  expect_same(sync, ahead);
  // It did run ahead: each EOS was fed while the host read it (3 EOS-stopped turns).
  EXPECT_EQ(ahead.decode_calls, sync.decode_calls + 3);
}

TEST(DecodeLoop, RunAheadKeepsChatAnswersAtStopStrings) {
  const ChatRun probe = chat(false, -1, "");
  ASSERT_GE(probe.texts[1].size(), 8u);
  const std::string stop = probe.texts[1].substr(5, 2);
  const ChatRun sync = chat(false, -1, stop);
  const ChatRun ahead = chat(true, -1, stop);
  ASSERT_EQ(sync.reasons[1], StopReason::stop_string);
  ASSERT_NE(sync.texts[3], probe.texts[3]);  // the stop changed what later turns see
  expect_same(sync, ahead);
  EXPECT_EQ(ahead.decode_calls, sync.decode_calls + 1);
}

DoneEvent raw(bool asynchronous, bool ignore_eos) {
  FakeOptions o;
  o.asynchronous = asynchronous;
  o.eos_after = 5;
  Engine e(testing::make_fake_model(o, std::make_shared<FakeStats>()), EngineOptions{}, 0);
  Request r;
  r.kind = Request::Kind::raw;
  r.raw.ids = {testing::kFakeBos, 'a', 'b', 'c'};
  r.raw.ignore_eos = ignore_eos;
  r.options.max_tokens = 9;
  return submit_ok(e, std::move(r));
}

TEST(DecodeLoop, RunAheadKeepsRawIds) {
  for (bool ignore_eos : {false, true}) {
    const DoneEvent sync = raw(false, ignore_eos), ahead = raw(true, ignore_eos);
    EXPECT_EQ(sync.reason, ignore_eos ? StopReason::max_tokens : StopReason::eos);
    EXPECT_EQ(sync.tokens, ahead.tokens);
    EXPECT_EQ(sync.text, ahead.text);
    EXPECT_EQ(sync.reason, ahead.reason);
    EXPECT_EQ(sync.step_ms.size(), ahead.step_ms.size());
    EXPECT_EQ(static_cast<int64_t>(ahead.step_ms.size()), ahead.usage.completion_tokens - 1);
  }
}

}  // namespace
}  // namespace mvl::engine
