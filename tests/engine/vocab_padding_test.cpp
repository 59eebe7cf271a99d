// Vocabulary padding (issue 13): the LM head has rows past the tokenizer's ids (the released
// checkpoint: 200,064 rows, 200,032 ids). A tiny model whose padding rows are set so that a
// padding id has the largest logit at every position proves the engine never samples one,
// greedy or with temperature, in chat turns and raw requests, and that nothing unknown ever
// reaches the detokenizer (the answers decode without error).
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "app/engine/core/engine.h"
#include "app/engine/inspect/tiny_model.h"
#include "kernels/core/safetensors.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/support/test_util.h"

namespace mvl::engine {
namespace {

constexpr const char* kLmHead = "language_model.lm_head.weight";

// A tiny checkpoint whose LM-head rows [tokenizer size, vocab) are +c*u and -c*u for a random
// u: whatever the hidden state h, one of them scores c*|u.h|, far above every real id.
struct PaddedModel {
  std::string dir;
  int64_t tokenizer_size = 0, vocab = 0;
};

PaddedModel make_padded_model() {
  PaddedModel m;
  m.dir = test::temp_dir("vocab-padding");
  TinyModelOptions o;
  o.out_dir = m.dir;
  o.tokenizer_path = test::source_path("assets/models/tiny-random/tokenizer.json");
  o.sharded = false;
  o.seed = 5;
  write_tiny_model(o);
  m.tokenizer_size = read_tokenizer_facts(o.tokenizer_path).num_tokens;
  const std::string file = m.dir + "/model.safetensors";
  SafetensorsWriter w;
  {
    const Checkpoint ckpt = Checkpoint::open(m.dir);
    for (const auto& name : ckpt.names()) {
      const Tensor t = ckpt.get(name);
      if (name != kLmHead) {
        w.add(name, t);
        continue;
      }
      Tensor f = ops::cast(t, DType::f32);  // a new host f32 copy [vocab, hidden]
      m.vocab = f.dim(0);
      const int64_t H = f.dim(1);
      std::mt19937 rng(7);
      std::normal_distribution<float> n(0.0f, 1.0f);
      std::vector<float> u(static_cast<size_t>(H));
      for (auto& x : u) x = n(rng);
      for (int64_t r = m.tokenizer_size; r < m.vocab; ++r)
        for (int64_t c = 0; c < H; ++c)
          f.data<float>()[r * H + c] = ((r - m.tokenizer_size) % 2 == 0 ? 1000.0f : -1000.0f) * u[c];
      w.add(name, t.dtype() == DType::f32 ? f : ops::cast(f, t.dtype()));
    }
  }
  w.write(file);
  return m;
}

const PaddedModel& padded() {
  static const PaddedModel m = make_padded_model();
  return m;
}

std::unique_ptr<Engine> open_padded() {
  EngineOptions o;
  o.model_dir = padded().dir;
  return Engine::open(o);
}

// Runs r, collecting every streamed id; fails the test on an error event.
DoneEvent run(Engine& e, Request r, std::vector<int32_t>* streamed) {
  r.on_event = [streamed](const Event& ev) {
    if (const auto* t = std::get_if<TokenEvent>(&ev); t && t->id >= 0) streamed->push_back(t->id);
  };
  RequestHandle h = e.submit(std::move(r));
  h.wait();
  if (h.error()) ADD_FAILURE() << h.error()->error.what();
  return h.done() ? *h.done() : DoneEvent{};
}

TEST(VocabPadding, ThePaddingRowsWouldWinEverywhere) {
  const auto e = open_padded();
  ASSERT_GT(padded().vocab, padded().tokenizer_size) << "the tiny model must have padding rows";
  Request r;
  r.kind = Request::Kind::raw;
  r.raw.text = "Hello there, how are you today?";
  r.raw.all_logits = true;
  r.raw.prefill_only = true;
  std::vector<int32_t> none;
  const DoneEvent d = run(*e, std::move(r), &none);
  ASSERT_TRUE(d.logits.defined());
  const int64_t n = d.logits.dim(0), V = d.logits.dim(1);
  ASSERT_EQ(V, padded().vocab);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = d.logits.data<float>() + i * V;
    int64_t best = 0;
    for (int64_t j = 1; j < V; ++j)
      if (row[j] > row[best]) best = j;
    EXPECT_GE(best, padded().tokenizer_size) << "position " << i << ": the premise of the test";
  }
}

TEST(VocabPadding, ChatTurnsNeverSampleAPaddingId) {
  const auto e = open_padded();
  for (float temperature : {0.0f, 1.0f, 3.0f}) {
    for (uint64_t seed : {1u, 2u}) {
      Request r;
      r.session = e->new_session();
      r.content = {ContentPart::make_text("Tell me a story.")};
      r.options.max_tokens = 24;
      r.options.sampling.temperature = temperature;
      r.options.sampling.seed = seed;
      std::vector<int32_t> ids;
      const DoneEvent d = run(*e, std::move(r), &ids);
      EXPECT_GT(d.usage.completion_tokens, 0);
      for (int32_t id : ids) EXPECT_LT(id, padded().tokenizer_size) << "T " << temperature;
      for (int32_t id : d.tokens) EXPECT_LT(id, padded().tokenizer_size) << "T " << temperature;
    }
  }
}

TEST(VocabPadding, RawRequestsNeverSampleAPaddingId) {
  const auto e = open_padded();
  for (float temperature : {0.0f, 0.8f, 5.0f}) {
    Request r;
    r.kind = Request::Kind::raw;
    r.raw.text = "Once upon a time";
    r.raw.ignore_eos = true;
    r.options.max_tokens = 32;
    r.options.sampling.temperature = temperature;
    r.options.sampling.top_k = temperature > 1.0f ? 0 : 40;
    r.options.sampling.seed = 9;
    std::vector<int32_t> ids;
    const DoneEvent d = run(*e, std::move(r), &ids);
    EXPECT_EQ(ids.size(), 32u);
    for (int32_t id : ids) EXPECT_LT(id, padded().tokenizer_size) << "T " << temperature;
    EXPECT_EQ(d.tokens, ids);
  }
}

}  // namespace
}  // namespace mvl::engine
