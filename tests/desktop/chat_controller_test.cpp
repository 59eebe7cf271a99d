// The desktop's ChatController without a display: model loading through a factory (the
// engine's fake model, and the bundled tiny model through Engine::open), streaming into the
// last message, stop mid-stream, regenerate, inline errors for bad images and failed
// requests (the conversation is kept and the question goes back to the composer), new chat.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "app/desktop/chat_controller.h"
#include "app/engine/testing/fake_model.h"
#include "tests/support/test_util.h"

namespace mvl::desktop {
namespace {

using engine::Role;
using engine::StopReason;
using engine::testing::FakeOptions;
using engine::testing::FakeStats;

EngineFactory fake_factory(FakeOptions fo, std::shared_ptr<FakeStats> stats = std::make_shared<FakeStats>()) {
  return [fo, stats](const engine::EngineOptions& o, const engine::LoadProgressFn& progress) {
    if (progress) {
      engine::LoadProgress lp;
      lp.fraction = 0.5;
      lp.stage = "weights";
      progress(lp);
    }
    return std::make_unique<engine::Engine>(engine::testing::make_fake_model(fo, stats), o, 1.0);
  };
}

// Calls poll() (as the UI does every frame) until `done` holds; false on timeout.
bool pump(ChatController& c, const std::function<bool()>& done, int timeout_ms = 20000) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    c.poll();
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

engine::EngineOptions fake_opts() {
  engine::EngineOptions o;
  o.model_dir = "fake";
  return o;
}

void load(ChatController& c, const engine::EngineOptions& o = fake_opts()) {
  ASSERT_TRUE(c.load_model(o));
  EXPECT_EQ(c.model_status().state, ModelStatus::State::loading);
  ASSERT_TRUE(pump(c, [&] { return c.model_status().state != ModelStatus::State::loading; }));
  ASSERT_EQ(c.model_status().state, ModelStatus::State::ready) << c.model_status().error;
  ASSERT_TRUE(c.model_ready());
}

void send_and_wait(ChatController& c, const std::string& text) {
  c.draft() = text;
  ASSERT_TRUE(c.send()) << c.error();
  ASSERT_TRUE(pump(c, [&] { return !c.generating(); }));
}

TEST(ChatController, RefusesToSendWithoutAModel) {
  ChatController c(fake_factory({}));
  c.draft() = "hello";
  EXPECT_FALSE(c.can_send());
  EXPECT_FALSE(c.send());
  EXPECT_NE(c.error().find("load a model"), std::string::npos) << c.error();
  EXPECT_TRUE(c.entries().empty());
  EXPECT_EQ(c.draft(), "hello");  // nothing typed is lost
  EXPECT_FALSE(c.load_model(engine::EngineOptions{}));  // no folder chosen
  EXPECT_FALSE(c.error().empty());
}

// While weights load, the model panel shows bytes read of the total, the rate and an ETA
// (the CLI's bar says the same: engine::describe_load_bytes).
TEST(ChatController, LoadingShowsBytesRateAndEta) {
  std::atomic<bool> release{false};
  ChatController c([&](const engine::EngineOptions& o, const engine::LoadProgressFn& p) {
    engine::LoadProgress lp;
    lp.fraction = 0.5;
    lp.stage = "text model";
    lp.bytes_done = 1500000000;
    lp.bytes_total = 3000000000;
    lp.elapsed_ms = 2000;
    p(lp);
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return fake_factory({})(o, {});
  });
  ASSERT_TRUE(c.load_model(fake_opts()));
  const bool seen = pump(c, [&] { return !c.model_status().bytes.empty(); });
  const ModelStatus during = c.model_status();
  release = true;
  ASSERT_TRUE(seen) << "no bytes shown while loading";
  EXPECT_EQ(during.state, ModelStatus::State::loading);
  EXPECT_EQ(during.stage, "text model");
  EXPECT_EQ(during.bytes, "1.5 GB / 3.0 GB  750.0 MB/s  ETA 0:02");
  ASSERT_TRUE(pump(c, [&] { return c.model_status().state != ModelStatus::State::loading; }));
  EXPECT_EQ(c.model_status().state, ModelStatus::State::ready);
}

TEST(ChatController, LoadFailureIsShownInlineAndTheAppStaysUsable) {
  int calls = 0;
  ChatController c([&](const engine::EngineOptions& o, const engine::LoadProgressFn& p) -> std::unique_ptr<engine::Engine> {
    if (++calls == 1) throw Error(ErrorCategory::not_found, "model dir '" + o.model_dir + "': no config.json");
    return fake_factory({})(o, p);
  });
  ASSERT_TRUE(c.load_model(fake_opts()));
  ASSERT_TRUE(pump(c, [&] { return c.model_status().state != ModelStatus::State::loading; }));
  EXPECT_EQ(c.model_status().state, ModelStatus::State::failed);
  EXPECT_NE(c.model_status().error.find("no config.json"), std::string::npos) << c.model_status().error;
  EXPECT_FALSE(c.model_ready());
  load(c);  // a retry works
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(c.model_status().summary.empty());
}

TEST(ChatController, SendStreamsTokensIntoTheLastMessage) {
  FakeOptions fo;
  fo.decode_delay_ms = 5;  // 64 tokens take >= 320 ms: room to see the stream on a busy CI machine
  ChatController c(fake_factory(fo));
  load(c);
  c.settings().max_tokens = 64;
  c.draft() = "  hello there  ";
  ASSERT_TRUE(c.send()) << c.error();
  EXPECT_TRUE(c.draft().empty());
  EXPECT_TRUE(c.generating());
  EXPECT_FALSE(c.can_send());
  ASSERT_EQ(c.entries().size(), 2u);
  EXPECT_EQ(c.entries()[0].role, Role::user);
  EXPECT_EQ(c.entries()[0].text, "hello there");
  EXPECT_TRUE(c.entries()[1].streaming);

  // Mid-stream: the answer grows in place while the request runs.
  ASSERT_TRUE(pump(c, [&] { return c.entries().back().live_tokens >= 3 || !c.generating(); }));
  ASSERT_TRUE(c.generating()) << "finished before it could be seen streaming";
  const ChatEntry partial = c.entries().back();
  EXPECT_TRUE(partial.streaming);
  EXPECT_LT(partial.live_tokens, 64);
  EXPECT_FALSE(partial.stats.has_value());

  ASSERT_TRUE(pump(c, [&] { return !c.generating(); }));
  ASSERT_EQ(c.entries().size(), 2u);
  const ChatEntry& a = c.entries()[1];
  EXPECT_FALSE(a.streaming);
  EXPECT_EQ(a.role, Role::assistant);
  EXPECT_EQ(a.text.compare(0, partial.text.size(), partial.text), 0) << "the streamed prefix changed";
  ASSERT_TRUE(a.stats.has_value());
  EXPECT_EQ(a.stats->reason, StopReason::max_tokens);
  EXPECT_EQ(a.stats->completion_tokens, 64);
  EXPECT_GT(a.stats->ttft_ms, 0);
  EXPECT_GT(a.stats->decode_tokens_per_s, 0);
  EXPECT_EQ(c.context_tokens(), a.stats->context_tokens);
  EXPECT_NE(stats_line(*a.stats).find("64 tokens"), std::string::npos) << stats_line(*a.stats);
  EXPECT_TRUE(c.error().empty()) << c.error();
  EXPECT_TRUE(c.can_regenerate());
}

TEST(ChatController, StopMidStreamKeepsThePartialAnswer) {
  FakeOptions fo;
  fo.decode_delay_ms = 10;
  ChatController c(fake_factory(fo));
  load(c);
  c.settings().max_tokens = 2000;
  c.draft() = "tell me a long story";
  ASSERT_TRUE(c.send());
  ASSERT_TRUE(pump(c, [&] { return c.entries().back().live_tokens >= 3; }));
  c.stop();
  ASSERT_TRUE(pump(c, [&] { return !c.generating(); }, 5000)) << "stop did not end the answer";
  ASSERT_EQ(c.entries().size(), 2u);
  const ChatEntry& a = c.entries()[1];
  ASSERT_TRUE(a.stats.has_value());
  EXPECT_EQ(a.stats->reason, StopReason::cancelled);
  EXPECT_GE(a.stats->completion_tokens, 3);
  EXPECT_LT(a.stats->completion_tokens, 2000);
  EXPECT_FALSE(a.text.empty());
  EXPECT_TRUE(c.error().empty()) << "a stop is not an error: " << c.error();
  EXPECT_TRUE(c.can_send());
  // The conversation goes on after a stop.
  c.settings().max_tokens = 4;
  send_and_wait(c, "shorter please");
  EXPECT_EQ(c.entries().size(), 4u);
}

TEST(ChatController, RegenerateReplacesTheAnswerAndGreedyRepeatsIt) {
  auto stats = std::make_shared<FakeStats>();
  FakeOptions fo;
  fo.decode_delay_ms = 1;
  ChatController c(fake_factory(fo, stats));
  load(c);
  EXPECT_FALSE(c.can_regenerate());
  c.settings().max_tokens = 12;
  send_and_wait(c, "hello");
  ASSERT_EQ(c.entries().size(), 2u);
  const std::string first = c.entries()[1].text;
  const int64_t decodes = stats->decode_calls.load();

  ASSERT_TRUE(c.regenerate()) << c.error();
  EXPECT_EQ(c.entries().size(), 2u);          // the old answer is replaced, not appended to
  EXPECT_TRUE(c.entries()[1].streaming);
  EXPECT_TRUE(c.entries()[1].text.empty());
  ASSERT_TRUE(pump(c, [&] { return !c.generating(); }));
  ASSERT_EQ(c.entries().size(), 2u);
  EXPECT_EQ(c.entries()[1].text, first);      // greedy: the same answer again
  ASSERT_TRUE(c.entries()[1].stats.has_value());
  EXPECT_EQ(c.entries()[1].stats->completion_tokens, 12);
  EXPECT_GT(stats->decode_calls.load(), decodes);  // it really generated again

  // A longer budget gives a different (longer) answer in the same place.
  c.settings().max_tokens = 20;
  ASSERT_TRUE(c.regenerate());
  ASSERT_TRUE(pump(c, [&] { return !c.generating(); }));
  ASSERT_EQ(c.entries().size(), 2u);
  EXPECT_EQ(c.entries()[1].stats->completion_tokens, 20);
  EXPECT_EQ(c.entries()[1].text.compare(0, first.size(), first), 0);
}

TEST(ChatController, BadImageGivesAnInlineErrorAndKeepsTheConversation) {
  ChatController c(fake_factory({}));
  load(c);
  c.settings().max_tokens = 6;
  send_and_wait(c, "hello");
  const std::vector<ChatEntry> before = c.entries();
  ASSERT_EQ(before.size(), 2u);

  const std::string dir = test::temp_dir("desktop_img");
  EXPECT_FALSE(c.attach_image(dir + "/missing.png"));
  EXPECT_NE(c.error().find("missing.png"), std::string::npos) << c.error();
  test::write_text(dir + "/bad.png", "not an image at all");
  EXPECT_FALSE(c.attach_image(dir + "/bad.png"));
  EXPECT_NE(c.error().find("bad.png"), std::string::npos) << c.error();
  EXPECT_TRUE(c.attachments().empty());
  ASSERT_EQ(c.entries().size(), before.size());
  EXPECT_EQ(c.entries()[1].text, before[1].text);
  EXPECT_TRUE(c.can_send());

  // A good image (quoted and as a file:// URL, as drops and pastes come) attaches and is sent.
  const std::string good = dir + "/good.fake";
  engine::testing::write_fake_image(good, 64, 48);
  ASSERT_TRUE(c.attach_image("\"" + good + "\"")) << c.error();
  ASSERT_TRUE(c.attach_image("file://" + good)) << c.error();
  EXPECT_TRUE(c.error().empty());
  ASSERT_EQ(c.attachments().size(), 2u);
  EXPECT_EQ(c.attachments()[0].path, good);
  c.remove_attachment(1);
  ASSERT_EQ(c.attachments().size(), 1u);
  EXPECT_EQ(c.thumbnail(good), nullptr);  // the fake format has no pixels to show
  send_and_wait(c, "what is this?");
  ASSERT_EQ(c.entries().size(), 4u);
  EXPECT_EQ(c.entries()[2].images, std::vector<std::string>{good});
  EXPECT_TRUE(c.attachments().empty());
  ASSERT_TRUE(c.entries()[3].stats.has_value());
}

TEST(ChatController, FailedRequestRollsBackAndGivesTheQuestionBack) {
  FakeOptions fo;
  fo.fail_at_decode = 2;
  ChatController c(fake_factory(fo));
  load(c);
  c.settings().max_tokens = 8;
  c.draft() = "this will fail";
  ASSERT_TRUE(c.send());
  ASSERT_TRUE(pump(c, [&] { return !c.generating(); }));
  EXPECT_FALSE(c.error().empty());
  EXPECT_TRUE(c.entries().empty());  // the engine rolled the turn back
  EXPECT_EQ(c.draft(), "this will fail");
  EXPECT_TRUE(c.can_send());
  c.dismiss_error();
  EXPECT_TRUE(c.error().empty());
}

TEST(ChatController, NewChatResetsEvenWhileAnswering) {
  FakeOptions fo;
  fo.decode_delay_ms = 10;
  auto stats = std::make_shared<FakeStats>();
  ChatController c(fake_factory(fo, stats));
  load(c);
  c.settings().max_tokens = 3;
  send_and_wait(c, "first chat");
  EXPECT_GT(c.context_tokens(), 0);
  c.new_chat();
  EXPECT_TRUE(c.entries().empty());
  EXPECT_EQ(c.context_tokens(), 0);
  EXPECT_FALSE(c.can_regenerate());

  // Mid-stream: the running answer is abandoned (cancelled) and the new chat is usable.
  c.settings().max_tokens = 2000;
  c.draft() = "long one";
  ASSERT_TRUE(c.send());
  ASSERT_TRUE(pump(c, [&] { return c.entries().back().live_tokens >= 2; }));
  c.new_chat();
  EXPECT_FALSE(c.generating());
  EXPECT_TRUE(c.entries().empty());
  EXPECT_TRUE(c.draft().empty());
  c.settings().max_tokens = 4;
  send_and_wait(c, "fresh start");
  ASSERT_EQ(c.entries().size(), 2u);
  EXPECT_EQ(c.entries()[0].text, "fresh start");
  ASSERT_TRUE(c.entries()[1].stats.has_value());
  EXPECT_EQ(c.entries()[1].stats->completion_tokens, 4);
  EXPECT_LT(stats->decode_calls.load(), 500);  // the abandoned answer did not run to 2000
}

TEST(ChatController, ReloadingTheModelKeepsTheConversation) {
  ChatController c(fake_factory({}));
  load(c);
  c.settings().max_tokens = 5;
  send_and_wait(c, "remember me");
  const std::string answer = c.entries()[1].text;
  load(c);  // the old engine is retired on the loader thread
  ASSERT_EQ(c.entries().size(), 2u);
  EXPECT_EQ(c.entries()[1].text, answer);
  send_and_wait(c, "still there?");
  EXPECT_EQ(c.entries().size(), 4u);
  EXPECT_TRUE(c.error().empty()) << c.error();
}

TEST(ChatController, OpensTheBundledTinyModelAndAnswers) {
  ChatController c;  // Engine::open
  engine::EngineOptions bad;
  bad.model_dir = test::temp_dir("desktop_nomodel");
  ASSERT_TRUE(c.load_model(bad));
  ASSERT_TRUE(pump(c, [&] { return c.model_status().state != ModelStatus::State::loading; }, 60000));
  EXPECT_EQ(c.model_status().state, ModelStatus::State::failed);
  EXPECT_FALSE(c.model_status().error.empty());

  engine::EngineOptions o;
  o.model_dir = test::source_path("assets/models/tiny-random");
  ASSERT_TRUE(c.load_model(o));
  ASSERT_TRUE(pump(c, [&] { return c.model_status().state != ModelStatus::State::loading; }, 60000));
  ASSERT_EQ(c.model_status().state, ModelStatus::State::ready) << c.model_status().error;
  const std::string img = test::source_path("assets/samples/chart.png");
  ASSERT_TRUE(c.attach_image(img)) << c.error();
  const Thumbnail* t = c.thumbnail(img);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(std::max(t->width, t->height), ChatController::kThumbnailSide);
  c.settings().max_tokens = 4;
  send_and_wait(c, "What does the chart show?");
  EXPECT_TRUE(c.error().empty()) << c.error();
  ASSERT_EQ(c.entries().size(), 2u);
  ASSERT_TRUE(c.entries()[1].stats.has_value());
  EXPECT_GE(c.entries()[1].stats->completion_tokens, 1);  // the random model may sample EOS early
  EXPECT_LE(c.entries()[1].stats->completion_tokens, 4);
  EXPECT_GT(c.entries()[1].stats->prompt_tokens, 4);
}

}  // namespace
}  // namespace mvl::desktop
