// Engine + Session with the fake model: streaming, stop reasons, cancel mid-stream and
// while queued, error propagation (runtime and input), one session's FIFO, multi-turn without
// re-prefill, rewind/regenerate and the "turn by turn == one prefill" parity.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/engine/core/engine.h"
#include "app/engine/testing/fake_model.h"
#include "tests/support/test_util.h"

namespace mvl::engine {
namespace {

using testing::FakeOptions;
using testing::FakeStats;

// Collects a request's events (called on the worker thread).
struct Collector {
  std::mutex mu;
  std::vector<Event> events;
  std::string text;
  int tokens = 0;
  EventCallback cb() {
    return [this](const Event& e) {
      std::lock_guard<std::mutex> lock(mu);
      if (auto* t = std::get_if<TokenEvent>(&e)) {
        text += t->piece;
        if (t->id >= 0) ++tokens;
      }
      events.push_back(e);
    };
  }
};

struct Fixture {
  std::shared_ptr<FakeStats> stats = std::make_shared<FakeStats>();
  std::unique_ptr<Engine> engine;
  explicit Fixture(FakeOptions o = {}) {
    engine = std::make_unique<Engine>(testing::make_fake_model(o, stats), EngineOptions{}, 12.5);
  }
};

Request turn(std::shared_ptr<Session> s, std::string text, int64_t max_tokens = 8) {
  Request r;
  r.session = std::move(s);
  r.content.push_back(ContentPart::make_text(std::move(text)));
  r.options.max_tokens = max_tokens;
  return r;
}

DoneEvent run_ok(Engine& e, Request r, Collector* c = nullptr) {
  if (c) r.on_event = c->cb();
  RequestHandle h = e.submit(std::move(r));
  h.wait();
  if (h.error()) ADD_FAILURE() << "unexpected error: " << h.error()->error.what();
  EXPECT_TRUE(h.done().has_value());
  return h.done() ? *h.done() : DoneEvent{};
}

TEST(Engine, StreamsTokensThenOneDoneEvent) {
  Fixture f;
  auto s = f.engine->new_session();
  Collector c;
  DoneEvent d = run_ok(*f.engine, turn(s, "hello", 8), &c);
  EXPECT_EQ(d.reason, StopReason::max_tokens);
  EXPECT_EQ(d.usage.completion_tokens, 8);
  EXPECT_EQ(d.tokens.size(), 8u);
  EXPECT_EQ(c.tokens, 8);
  EXPECT_EQ(c.text, d.text);
  ASSERT_FALSE(c.events.empty());
  EXPECT_TRUE(std::holds_alternative<DoneEvent>(c.events.back()));
  EXPECT_DOUBLE_EQ(d.timings.load_ms, 12.5);
  EXPECT_GT(d.usage.prompt_tokens, 5);
  EXPECT_GE(d.timings.ttft_ms, 0);
  ASSERT_EQ(s->messages().size(), 3u);  // system, user, assistant
  EXPECT_EQ(s->messages()[2].role, Role::assistant);
  EXPECT_EQ(s->messages()[2].text(), d.text);
}

TEST(Engine, StopsAtEosAndKeepsItOutOfTheText) {
  FakeOptions o;
  o.eos_after = 4;
  Fixture f(o);
  DoneEvent d = run_ok(*f.engine, turn(f.engine->new_session(), "hi", 100));
  EXPECT_EQ(d.reason, StopReason::eos);
  ASSERT_EQ(d.tokens.size(), 4u);
  EXPECT_EQ(d.tokens.back(), testing::kFakeEos);
  EXPECT_EQ(d.text.size(), 3u);
}

TEST(Engine, StopString) {
  Fixture f;
  // Find what the model says, then use a piece of it as the stop string.
  DoneEvent full = run_ok(*f.engine, turn(f.engine->new_session(), "x", 12));
  ASSERT_GE(full.text.size(), 6u);
  Request r = turn(f.engine->new_session(), "x", 12);
  r.options.stop_strings = {full.text.substr(4, 2), "never-said"};
  Collector c;
  DoneEvent d = run_ok(*f.engine, std::move(r), &c);
  EXPECT_EQ(d.reason, StopReason::stop_string);
  EXPECT_EQ(d.text, full.text.substr(0, full.text.find(full.text.substr(4, 2))));
  EXPECT_EQ(c.text, d.text);  // the stop string was never streamed
  // A stop string that never matches: everything is streamed in the end, nothing lost.
  Request r2 = turn(f.engine->new_session(), "x", 12);
  r2.options.stop_strings = {full.text.substr(10, 2) + "\x01"};
  Collector c2;
  DoneEvent d2 = run_ok(*f.engine, std::move(r2), &c2);
  EXPECT_EQ(d2.reason, StopReason::max_tokens);
  EXPECT_EQ(c2.text, full.text);
  EXPECT_EQ(d2.text, full.text);
}

TEST(Engine, CancelMidStreamIsAStopReasonAndTheSessionStaysUsable) {
  FakeOptions o;
  o.decode_delay_ms = 5;
  Fixture f(o);
  auto s = f.engine->new_session();
  Collector c;
  Request r = turn(s, "tell me a long story", 100000);
  r.on_event = c.cb();
  RequestHandle h = f.engine->submit(std::move(r));
  while (true) {
    {
      std::lock_guard<std::mutex> lock(c.mu);
      if (c.tokens >= 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  h.cancel();
  ASSERT_TRUE(h.wait_for(5000));
  ASSERT_TRUE(h.done().has_value());
  EXPECT_FALSE(h.error().has_value());
  EXPECT_EQ(h.done()->reason, StopReason::cancelled);
  EXPECT_LT(h.done()->usage.completion_tokens, 1000);
  EXPECT_EQ(h.done()->text, c.text);
  // The partial answer stays in the transcript and the next turn builds on it.
  ASSERT_EQ(s->messages().size(), 3u);
  EXPECT_EQ(s->messages()[2].text(), c.text);
  DoneEvent next = run_ok(*f.engine, turn(s, "go on", 3));
  EXPECT_EQ(next.reason, StopReason::max_tokens);
  EXPECT_EQ(s->messages().size(), 5u);
}

TEST(Engine, CancelWhileQueuedRunsNothing) {
  FakeOptions o;
  o.decode_delay_ms = 20;
  Fixture f(o);
  auto s1 = f.engine->new_session();
  auto s2 = f.engine->new_session();
  RequestHandle h1 = f.engine->submit(turn(s1, "first", 20));
  RequestHandle h2 = f.engine->submit(turn(s2, "second", 20));
  h2.cancel();
  h1.wait();
  h2.wait();
  EXPECT_EQ(h1.done()->reason, StopReason::max_tokens);
  EXPECT_EQ(h2.done()->reason, StopReason::cancelled);
  EXPECT_EQ(h2.done()->usage.completion_tokens, 0);
  EXPECT_EQ(s2->messages().size(), 1u);  // only the system message
  EXPECT_EQ(s2->context_length(), 0);
}

TEST(Engine, CancelDuringImageEncodeRollsBack) {
  FakeOptions o;
  o.encode_delay_ms = 30;
  Fixture f(o);
  const std::string img = test::temp_dir("eng_img") + "/a.fake";
  testing::write_fake_image(img, 640, 480);
  auto s = f.engine->new_session();
  Request r;
  r.session = s;
  r.content = {ContentPart::make_image(img), ContentPart::make_text("what?")};
  RequestHandle h = f.engine->submit(std::move(r));
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  h.cancel();
  h.wait();
  ASSERT_TRUE(h.done().has_value());
  EXPECT_EQ(h.done()->reason, StopReason::cancelled);
  EXPECT_EQ(s->messages().size(), 1u);
  EXPECT_EQ(f.stats->images_encoded.load(), 0);
}

TEST(Engine, RuntimeErrorIsReportedAndTheEngineKeepsWorking) {
  FakeOptions o;
  o.fail_at_decode = 3;
  Fixture f(o);
  auto s = f.engine->new_session();
  run_ok(*f.engine, turn(s, "one", 2));  // 1 decode step: below the failure
  const auto before = s->messages().size();
  Collector c;
  Request r = turn(s, "two", 10);
  r.on_event = c.cb();
  RequestHandle h = f.engine->submit(std::move(r));
  h.wait();
  ASSERT_TRUE(h.error().has_value());
  EXPECT_FALSE(h.done().has_value());
  EXPECT_EQ(h.error()->phase, ErrorPhase::runtime);
  EXPECT_NE(std::string(h.error()->error.what()).find("injected failure"), std::string::npos);
  ASSERT_FALSE(c.events.empty());
  EXPECT_TRUE(std::holds_alternative<ErrorEvent>(c.events.back()));
  EXPECT_EQ(s->messages().size(), before);  // rolled back
  // Same session, short answer: works and equals a fresh session fed the same turns.
  DoneEvent d = run_ok(*f.engine, turn(s, "three", 2));
  auto fresh = f.engine->new_session();
  run_ok(*f.engine, turn(fresh, "one", 2));
  DoneEvent e = run_ok(*f.engine, turn(fresh, "three", 2));
  EXPECT_EQ(d.tokens, e.tokens);
}

TEST(Engine, BadImageIsAnInputError) {
  Fixture f;
  auto s = f.engine->new_session();
  Request r;
  r.session = s;
  r.content = {ContentPart::make_image("/nonexistent/x.png"), ContentPart::make_text("hi")};
  RequestHandle h = f.engine->submit(std::move(r));
  h.wait();
  ASSERT_TRUE(h.error().has_value());
  EXPECT_EQ(h.error()->phase, ErrorPhase::input);
  EXPECT_NE(std::string(h.error()->error.what()).find("/nonexistent/x.png"), std::string::npos);
  EXPECT_EQ(s->messages().size(), 1u);
  EXPECT_THROW(f.engine->prepare_image("/nonexistent/x.png"), Error);
}

TEST(Engine, PromptOverTheContextIsAnInputError) {
  FakeOptions o;
  o.max_context = 64;
  Fixture f(o);
  RequestHandle h = f.engine->submit(turn(f.engine->new_session(), std::string(200, 'a'), 4));
  h.wait();
  ASSERT_TRUE(h.error().has_value());
  EXPECT_EQ(h.error()->phase, ErrorPhase::input);
  // Checked before any image is encoded.
  const std::string img = test::temp_dir("eng_ctx") + "/big.fake";
  testing::write_fake_image(img, 100, 100);
  Request ri = turn(f.engine->new_session(), std::string(55, 'a'), 4);
  ri.content.insert(ri.content.begin(), ContentPart::make_image(img));
  RequestHandle hi = f.engine->submit(std::move(ri));
  hi.wait();
  ASSERT_TRUE(hi.error().has_value());
  EXPECT_EQ(hi.error()->phase, ErrorPhase::input);
  EXPECT_EQ(f.stats->images_encoded.load(), 0);
  // A prompt that fits but leaves little room stops with context_full.
  DoneEvent d = run_ok(*f.engine, turn(f.engine->new_session("")
                                       , std::string(40, 'a'), 1000));
  EXPECT_EQ(d.reason, StopReason::context_full);
  EXPECT_LE(d.usage.context_tokens, 64);
}

TEST(Engine, OneSessionsRequestsRunInSubmissionOrder) {
  // Requests of different sessions run at once (continuous batching, scheduler_test.cpp);
  // one session's requests run one after another, in order.
  FakeOptions o;
  o.decode_delay_ms = 2;
  Fixture f(o);
  std::mutex mu;
  std::vector<int> order;  // request index per event
  std::vector<RequestHandle> hs;
  auto s = f.engine->new_session();
  for (int i = 0; i < 4; ++i) {
    Request r = turn(s, "q" + std::to_string(i), 5);
    r.on_event = [&, i](const Event&) {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(i);
    };
    hs.push_back(f.engine->submit(std::move(r)));
  }
  EXPECT_GE(f.engine->queued(), 1u);
  for (auto& h : hs) h.wait();
  ASSERT_EQ(order.size(), 4u * 6u);  // 5 tokens + done each
  for (size_t k = 1; k < order.size(); ++k) EXPECT_LE(order[k - 1], order[k]);
  for (auto& h : hs) EXPECT_EQ(h.done()->reason, StopReason::max_tokens);
}

TEST(Session, MultiTurnNeverRefeedsEarlierTurns) {
  Fixture f;
  auto s = f.engine->new_session();
  DoneEvent d1 = run_ok(*f.engine, turn(s, "first question", 6));
  const int64_t after1 = f.stats->prefilled_positions.load();
  DoneEvent d2 = run_ok(*f.engine, turn(s, "second", 6));
  const int64_t fed2 = f.stats->prefilled_positions.load() - after1;
  // Turn 2 feeds: the owed last token + close (1 + 2), the user block
  // (BOS "user\n" "second" EOS "\n" = 1+5+6+2) and the generation prompt (1+10).
  EXPECT_EQ(fed2, 3 + 14 + 11);
  EXPECT_EQ(d2.usage.prompt_tokens, fed2);
  EXPECT_LT(fed2, d1.usage.prompt_tokens + d1.usage.completion_tokens);
}

// The same conversation fed turn by turn and as one prefill gives the same answers.
TEST(Session, TurnByTurnEqualsOnePrefillOfTheTranscript) {
  Fixture f;
  const std::string img = test::temp_dir("eng_par") + "/p.fake";
  testing::write_fake_image(img, 300, 200);
  auto a = f.engine->new_session();
  run_ok(*f.engine, turn(a, "hi", 5));
  Request r2;
  r2.session = a;
  r2.content = {ContentPart::make_image(img), ContentPart::make_text("and this?")};
  r2.options.max_tokens = 7;
  run_ok(*f.engine, std::move(r2));
  const std::vector<Message> transcript = a->messages();
  DoneEvent d3 = run_ok(*f.engine, turn(a, "third", 9));

  auto b = f.engine->new_session("");
  b->load(transcript);
  const int64_t calls = f.stats->prefill_calls.load();
  DoneEvent e3 = run_ok(*f.engine, turn(b, "third", 9));
  EXPECT_EQ(f.stats->prefill_calls.load() - calls, 2);  // transcript + generation prompt
  EXPECT_EQ(d3.tokens, e3.tokens);
  EXPECT_EQ(d3.text, e3.text);
  EXPECT_EQ(a->context_length(), b->context_length());
  // And a different transcript gives a different answer (the check can fail).
  auto c = f.engine->new_session("");
  auto t2 = transcript;
  t2[1].parts[0].text = "HI";
  c->load(t2);
  DoneEvent x3 = run_ok(*f.engine, turn(c, "third", 9));
  EXPECT_NE(d3.tokens, x3.tokens);
}

TEST(Session, RewindRestoresTheSnapshot) {
  Fixture f;
  auto s = f.engine->new_session();
  run_ok(*f.engine, turn(s, "one", 4));
  const size_t after_one = s->messages().size();  // system, user, assistant
  run_ok(*f.engine, turn(s, "two", 4));
  run_ok(*f.engine, turn(s, "three", 4));
  s->rewind(after_one);
  EXPECT_EQ(s->messages().size(), after_one);
  DoneEvent d = run_ok(*f.engine, turn(s, "other", 6));

  auto ref = f.engine->new_session();
  run_ok(*f.engine, turn(ref, "one", 4));
  DoneEvent e = run_ok(*f.engine, turn(ref, "other", 6));
  EXPECT_EQ(d.tokens, e.tokens);
  EXPECT_EQ(s->context_length(), ref->context_length());

  s->clear();
  EXPECT_EQ(s->messages().size(), 1u);
  EXPECT_EQ(s->context_length(), 0);
  EXPECT_THROW(s->rewind(5), Error);
}

TEST(Session, SnapshotsAreBoundedAndRewindPastThemStillWorks) {
  EngineOptions eo;
  eo.max_snapshots = 2;
  auto stats = std::make_shared<FakeStats>();
  Engine e(testing::make_fake_model({}, stats), eo);
  auto s = e.new_session();
  run_ok(e, turn(s, "one", 3));
  const size_t after_one = s->messages().size();
  for (const char* q : {"two", "three", "four", "five"}) run_ok(e, turn(s, q, 3));
  EXPECT_EQ(s->num_snapshots(), 3u);  // the empty state + the newest two boundaries
  s->rewind(after_one);               // older than any kept boundary: re-fed lazily
  DoneEvent d = run_ok(e, turn(s, "six", 5));
  auto ref = e.new_session();
  run_ok(e, turn(ref, "one", 3));
  DoneEvent g = run_ok(e, turn(ref, "six", 5));
  EXPECT_EQ(d.tokens, g.tokens);
  EXPECT_EQ(s->context_length(), ref->context_length());
}

TEST(Session, RegenerateOnlyRefeedsTheGenerationPrompt) {
  Fixture f;
  auto s = f.engine->new_session();
  DoneEvent d = run_ok(*f.engine, turn(s, "question", 6));
  const int64_t before = f.stats->prefilled_positions.load();
  Request r;
  r.session = s;
  r.kind = Request::Kind::regenerate;
  r.options.max_tokens = 6;
  DoneEvent g = run_ok(*f.engine, std::move(r));
  EXPECT_EQ(g.tokens, d.tokens);  // greedy: same answer again
  EXPECT_EQ(f.stats->prefilled_positions.load() - before, 11);  // BOS "assistant\n"
  EXPECT_EQ(s->messages().size(), 3u);
  // With sampling and another seed, regenerate can differ.
  Request r2;
  r2.session = s;
  r2.kind = Request::Kind::regenerate;
  r2.options.max_tokens = 6;
  r2.options.sampling.temperature = 1.5f;
  r2.options.sampling.seed = 7;
  DoneEvent g2 = run_ok(*f.engine, std::move(r2));
  EXPECT_NE(g2.tokens, d.tokens);
}

TEST(Session, BusySessionRefusesRewind) {
  FakeOptions o;
  o.decode_delay_ms = 10;
  Fixture f(o);
  auto s = f.engine->new_session();
  RequestHandle h = f.engine->submit(turn(s, "x", 50));
  EXPECT_TRUE(s->busy());
  EXPECT_THROW(s->rewind(0), Error);
  h.cancel();
  h.wait();
  EXPECT_FALSE(s->busy());
}

TEST(EventQueue, DrainsInOrderAcrossThreads) {
  EventQueue q;
  int notified = 0;
  q.set_notify([&] { ++notified; });
  std::thread t([&] {
    auto sink = q.sink();
    for (int i = 0; i < 5; ++i) sink(TokenEvent{i, "x"});
    sink(DoneEvent{});
  });
  t.join();
  EXPECT_TRUE(q.wait_for(10));
  auto ev = q.drain();
  ASSERT_EQ(ev.size(), 6u);
  EXPECT_EQ(std::get<TokenEvent>(ev[3]).id, 3);
  EXPECT_TRUE(std::holds_alternative<DoneEvent>(ev[5]));
  EXPECT_EQ(notified, 6);
  EXPECT_TRUE(q.drain().empty());
}

}  // namespace
}  // namespace mvl::engine
