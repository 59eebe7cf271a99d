// The engine on the real (tiny, random) checkpoint: prompt encoding matches the template
// rendered and tokenised in one go, user text cannot inject special tokens, chunked prefill
// and the native layout give the same greedy answer, rewind on real lightning/KV state
// equals a fresh session, and cancel mid-stream leaves a usable session.
#include <gtest/gtest.h>

#include <thread>

#include "app/engine/loading/checkpoint.h"
#include "app/engine/core/engine.h"
#include "app/engine/inspect/tiny_model.h"
#include "llm/chat/chat_template.h"
#include "llm/tokenizer/tokenizer.h"
#include "tests/support/test_util.h"

namespace mvl::engine {
namespace {

std::string tiny() { return test::source_path("assets/models/tiny-random"); }
std::string sample(const std::string& n) { return test::source_path("assets/samples/" + n); }

std::unique_ptr<Engine> open_tiny(const std::string& dir = tiny(), int64_t chunk = 512) {
  EngineOptions o;
  o.model_dir = dir;
  o.prefill_chunk = chunk;
  return Engine::open(o);
}

DoneEvent ask(Engine& e, const std::shared_ptr<Session>& s, std::vector<ContentPart> content, int64_t n = 8) {
  Request r;
  r.session = s;
  r.content = std::move(content);
  r.options.max_tokens = n;
  RequestHandle h = e.submit(std::move(r));
  h.wait();
  if (h.error()) ADD_FAILURE() << h.error()->error.what();
  return h.done() ? *h.done() : DoneEvent{};
}

std::vector<ContentPart> text(const std::string& t) { return {ContentPart::make_text(t)}; }

TEST(RealModel, MessageEncodingMatchesTheRenderedTemplate) {
  const LoadedModel m = load_checkpoint(EngineOptions{tiny()});
  const llm::Tokenizer tok = llm::Tokenizer::from_file(tiny() + "/tokenizer.json");
  const int32_t image_id = *tok.token_to_id("<image>");
  Message sys{Role::system, {ContentPart::make_text("You are helpful.")}, {}};
  Message user{Role::user, {ContentPart::make_image("x.png"), ContentPart::make_text("What is the total?")}, {}};
  std::vector<int32_t> ids;
  int slots = 0;
  for (const Message* msg : {&sys, &user}) {
    for (const auto& p : m.codec->encode_message(*msg)) {
      if (p.image_index >= 0) {
        ids.push_back(image_id);
        ++slots;
      }
      ids.insert(ids.end(), p.ids.begin(), p.ids.end());
    }
  }
  const auto gen = m.codec->generation_prompt();
  ids.insert(ids.end(), gen.begin(), gen.end());
  EXPECT_EQ(slots, 1);

  llm::ChatMessage cs = llm::make_message("system", "You are helpful.");
  llm::ChatMessage cu;
  cu.role = "user";
  cu.content = {llm::ContentItem{llm::ContentItem::Kind::image, ""}, llm::ContentItem{llm::ContentItem::Kind::text, "What is the total?"}};
  EXPECT_EQ(ids, tok.encode(llm::render_chat({cs, cu}, true), true));
  // An answer closes with <end_of_sentence> (the EOS) and a newline.
  const auto close = m.codec->assistant_close();
  ASSERT_FALSE(close.empty());
  EXPECT_EQ(close[0], m.codec->eos_id());
}

TEST(RealModel, UserTextCannotInjectSpecialTokens) {
  const LoadedModel m = load_checkpoint(EngineOptions{tiny()});
  Message user{Role::user, {ContentPart::make_text("<image> and <end_of_sentence> typed by a user")}, {}};
  const auto pieces = m.codec->encode_message(user);
  ASSERT_EQ(pieces.size(), 1u);  // no image slot
  const auto& ids = pieces[0].ids;
  // Exactly the template's own specials: BOS at the start, EOS at the end.
  int specials = 0;
  for (int32_t id : ids) specials += m.codec->is_special(id);
  EXPECT_EQ(specials, 2);
  EXPECT_TRUE(m.codec->is_special(ids.front()));
}

TEST(RealModel, ChunkedPrefillGivesTheSameAnswer) {
  auto a = open_tiny(tiny(), 512);
  auto b = open_tiny(tiny(), 37);
  std::vector<ContentPart> c = {ContentPart::make_image(sample("chart.png")), ContentPart::make_text("Best quarter?")};
  const DoneEvent da = ask(*a, a->new_session(), c);
  const DoneEvent db = ask(*b, b->new_session(), c);
  EXPECT_EQ(da.tokens, db.tokens);
  EXPECT_EQ(da.usage.prompt_tokens, db.usage.prompt_tokens);
  EXPECT_GT(da.usage.image_tokens, 576);
}

TEST(RealModel, NativeLayoutAnswersLikeReleased) {
  const std::string dir = test::temp_dir("eng_layouts");
  for (auto layout : {CheckpointLayout::released, CheckpointLayout::native}) {
    TinyModelOptions o;
    o.out_dir = dir + (layout == CheckpointLayout::native ? "/native" : "/released");
    o.tokenizer_path = tiny() + "/tokenizer.json";
    o.layout = layout;
    write_tiny_model(o);
  }
  auto r = open_tiny(dir + "/released");
  auto n = open_tiny(dir + "/native");
  EXPECT_EQ(r->info().layout, "released");
  EXPECT_EQ(n->info().layout, "native");
  std::vector<ContentPart> c = {ContentPart::make_image(sample("table.png")), ContentPart::make_text("Largest city?")};
  const DoneEvent dr = ask(*r, r->new_session(), c);
  const DoneEvent dn = ask(*n, n->new_session(), c);
  EXPECT_EQ(dr.tokens, dn.tokens);
  EXPECT_EQ(dr.text, dn.text);
}

TEST(RealModel, RewindEqualsAFreshSessionWithTheSameHistory) {
  auto e = open_tiny();
  auto s = e->new_session();
  ask(*e, s, text("first"));
  const size_t after_first = s->messages().size();
  ask(*e, s, text("second"));
  ask(*e, s, text("third"));
  s->rewind(after_first);
  const DoneEvent d = ask(*e, s, text("another"));

  auto f = e->new_session();
  ask(*e, f, text("first"));
  const DoneEvent g = ask(*e, f, text("another"));
  EXPECT_EQ(d.tokens, g.tokens);
  EXPECT_EQ(s->context_length(), f->context_length());
}

TEST(RealModel, TurnByTurnEqualsOnePrefillOfTheTranscript) {
  auto e = open_tiny();
  auto a = e->new_session();
  ask(*e, a, text("Hello"));
  ask(*e, a, {ContentPart::make_image(sample("receipt.png")), ContentPart::make_text("What did I pay?")});
  const auto transcript = a->messages();
  const DoneEvent d3 = ask(*e, a, text("Thanks!"), 12);
  auto b = e->new_session("");
  b->load(transcript);
  const DoneEvent e3 = ask(*e, b, text("Thanks!"), 12);
  EXPECT_EQ(d3.tokens, e3.tokens);
  EXPECT_LT(d3.usage.prompt_tokens, e3.usage.prompt_tokens / 10);  // no re-prefill in `a`
}

TEST(RealModel, CancelMidStreamThenContinue) {
  auto e = open_tiny();
  auto s = e->new_session();
  std::atomic<int> tokens{0};
  Request r;
  r.session = s;
  r.content = text("hello");
  r.options.max_tokens = 0;  // until EOS or a full context
  r.on_event = [&](const Event& ev) { tokens += std::holds_alternative<TokenEvent>(ev); };
  RequestHandle h = e->submit(std::move(r));
  while (tokens.load() < 3 && !h.finished()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  h.cancel();
  h.wait();
  ASSERT_TRUE(h.done().has_value());
  EXPECT_EQ(h.done()->reason, StopReason::cancelled);
  EXPECT_LT(h.done()->usage.completion_tokens, 1000);
  const DoneEvent next = ask(*e, s, text("go on"), 4);
  EXPECT_EQ(next.usage.completion_tokens, 4);
}

}  // namespace
}  // namespace mvl::engine
