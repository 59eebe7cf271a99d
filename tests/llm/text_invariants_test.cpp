// State invariants of TextModel/SequenceState on the golden tiny models: split prefill ==
// one-shot prefill; blockwise prefill == token-by-token decode; clone then decode gives
// identical streams; restore then decode == fresh prefill of the truncated history;
// chunked prefill and embedding-row segments equal plain token prefill; the fused (native
// in-memory) and VL-prefixed namings load the same model; load errors name the tensor.
#include <filesystem>

#include "kernels/core/error.h"
#include "kernels/ops/embedding.h"
#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/llm/text_test_util.h"

namespace mvl::test {
namespace {

std::vector<int32_t> some_ids(int64_t n, int64_t vocab, int seed) {
  std::vector<int32_t> ids;
  uint32_t x = static_cast<uint32_t>(seed) * 2654435761u + 12345u;
  for (int64_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    ids.push_back(static_cast<int32_t>((x >> 8) % static_cast<uint32_t>(vocab)));
  }
  return ids;
}

void expect_close(const Tensor& got, const Tensor& want, double rel, const std::string& what) {
  const double err = max_abs_diff(got, want), bound = rel * max_abs(want);
  EXPECT_LE(err, bound) << what;
}

class TextInvariants : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { m_ = std::make_unique<LoadedTextModel>(load_text_model(golden_dir(GetParam(), "released"))); }
  const llm::TextModel& model() const { return m_->model; }
  int64_t B() const { return m_->cfg.block_size; }
  int64_t V() const { return m_->cfg.vocab_size; }
  Tensor all_logits(const std::vector<llm::Segment>& segs, llm::SequenceState& st, int64_t chunk = 0) const {
    llm::PrefillOptions o;
    o.all_logits = true;
    o.chunk_size = chunk;
    return model().prefill(segs, st, o);
  }
  std::unique_ptr<LoadedTextModel> m_;
};

TEST_P(TextInvariants, SplitPrefillEqualsOneShot) {
  const int64_t n = 3 * B() + 5;
  const auto ids = some_ids(n, V(), 1);
  llm::SequenceState whole_st = model().new_state();
  const Tensor whole = all_logits({llm::Segment::tokens(ids)}, whole_st);
  for (int64_t cut : {int64_t{1}, B() - 1, B(), B() + 1, 2 * B() + 3}) {
    llm::SequenceState st = model().new_state();
    const Tensor a = all_logits({llm::Segment::tokens({ids.begin(), ids.begin() + cut})}, st);
    const Tensor b = all_logits({llm::Segment::tokens({ids.begin() + cut, ids.end()})}, st);
    EXPECT_EQ(st.position(), n);
    expect_close(ops::concat_rows({a, b}), whole, 1e-5, "split at " + std::to_string(cut));
    // The states agree too: the next decode step gives the same logits.
    llm::SequenceState w2 = whole_st.clone();
    expect_close(model().decode(7, st), model().decode(7, w2), 1e-5, "decode after split at " + std::to_string(cut));
  }
}

TEST_P(TextInvariants, ChunkedPrefillAndEmbeddingRowsEqualPlainPrefill) {
  const int64_t n = 2 * B() + 3;
  const auto ids = some_ids(n, V(), 2);
  llm::SequenceState s0 = model().new_state();
  const Tensor plain = all_logits({llm::Segment::tokens(ids)}, s0);
  llm::SequenceState s1 = model().new_state();
  expect_close(all_logits({llm::Segment::tokens(ids)}, s1, B() - 1), plain, 1e-5, "chunked");
  // Middle third as embedding rows (how the engine splices image features).
  const int64_t a = n / 3, b = 2 * n / 3;
  std::vector<int32_t> mid(ids.begin() + a, ids.begin() + b);
  llm::SequenceState s2 = model().new_state();
  const Tensor mixed = all_logits({llm::Segment::tokens({ids.begin(), ids.begin() + a}),
                                   llm::Segment::rows(model().embed(mid)),
                                   llm::Segment::tokens({ids.begin() + b, ids.end()})},
                                  s2);
  EXPECT_EQ(max_abs_diff(mixed, plain), 0.0) << "embedding rows of the same ids must give identical logits";
  // Last-row mode returns just the final row.
  llm::SequenceState s3 = model().new_state();
  const Tensor last = model().prefill({llm::Segment::tokens(ids)}, s3);
  EXPECT_EQ(last.shape(), (Shape{1, V()}));
  EXPECT_EQ(max_abs_diff(last, plain.slice(0, n - 1, n)), 0.0);
}

TEST_P(TextInvariants, BlockwisePrefillEqualsTokenByTokenDecode) {
  const int64_t n = 2 * B() + 5;
  const auto ids = some_ids(n, V(), 3);
  llm::SequenceState st = model().new_state();
  const Tensor pre = all_logits({llm::Segment::tokens(ids)}, st);
  llm::SequenceState dt = model().new_state();
  std::vector<Tensor> rows;
  for (int32_t t : ids) rows.push_back(model().decode(t, dt).view({1, V()}));
  expect_close(ops::concat_rows(rows), pre, 1e-5, "decode token by token");
  EXPECT_EQ(dt.position(), n);
}

TEST_P(TextInvariants, CloneThenDecodeGivesIdenticalStreams) {
  const auto ids = some_ids(B() + 3, V(), 4);
  llm::SequenceState st = model().new_state();
  const Tensor first = model().prefill({llm::Segment::tokens(ids)}, st);
  llm::SequenceState cl = st.clone();
  auto stream = [&](llm::SequenceState& s, uint64_t seed) {
    ops::Rng rng(seed);
    ops::SamplingParams p{0.8f, 20, 0.95f, 1.1f};
    std::vector<int32_t> out;
    Tensor l = first.select(0, 0);
    for (int i = 0; i < 24; ++i) {
      out.push_back(ops::sample(l, p, rng, out));
      l = model().decode(out.back(), s);
    }
    return out;
  };
  const auto a = stream(st, 9), b = stream(cl, 9);
  EXPECT_EQ(a, b);
  EXPECT_EQ(st.position(), cl.position());
  // Independence: decoding more on the clone leaves the original untouched.
  llm::SequenceState c2 = st.clone();
  model().decode(1, cl);
  EXPECT_EQ(max_abs_diff(model().decode(2, st), model().decode(2, c2)), 0.0);
}

TEST_P(TextInvariants, RestoreThenDecodeEqualsFreshPrefillOfTruncatedHistory) {
  const auto a = some_ids(B() + 2, V(), 5), b = some_ids(2 * B() + 1, V(), 6), c = some_ids(5, V(), 7);
  llm::SequenceState st = model().new_state();
  model().prefill({llm::Segment::tokens(a)}, st);
  const auto snap = st.snapshot();
  model().prefill({llm::Segment::tokens(b)}, st);
  model().decode(3, st);
  st.restore(snap);
  EXPECT_EQ(st.position(), static_cast<int64_t>(a.size()));
  llm::SequenceState fresh = model().new_state();
  model().prefill({llm::Segment::tokens(a)}, fresh);
  for (int32_t t : c) EXPECT_EQ(max_abs_diff(model().decode(t, st), model().decode(t, fresh)), 0.0);
  // The snapshot can be restored again (its history up to a is intact)...
  st.restore(snap);
  // ...but a snapshot taken after a since-rewound point cannot.
  model().prefill({llm::Segment::tokens(b)}, st);
  const auto late = st.snapshot();
  st.restore(snap);
  model().decode(1, st);
  model().decode(2, st);
  EXPECT_THROW(st.restore(late), Error);
  llm::SequenceState other = model().new_state();
  EXPECT_THROW(other.restore(snap), Error);
}

TEST_P(TextInvariants, SnapshotsBeforeACloneRestoreInTheClone) {
  const auto a = some_ids(B() + 1, V(), 11), b = some_ids(B() + 4, V(), 12);
  llm::SequenceState st = model().new_state();
  model().prefill({llm::Segment::tokens(a)}, st);
  const auto snap_a = st.snapshot();
  model().prefill({llm::Segment::tokens(b)}, st);
  llm::SequenceState cl = st.clone();
  // Rewinding the clone to a point before the clone equals rewinding the original.
  cl.restore(snap_a);
  st.restore(snap_a);
  EXPECT_EQ(max_abs_diff(model().decode(5, cl), model().decode(5, st)), 0.0);
  // A snapshot the original takes after the clone (different history) is refused by the clone.
  model().decode(6, st);
  const auto after = st.snapshot();
  model().decode(7, cl);
  model().decode(8, cl);
  EXPECT_THROW(cl.restore(after), Error);
  // And the clone's own snapshots are unknown to the original.
  const auto clone_snap = cl.snapshot();
  EXPECT_THROW(st.restore(clone_snap), Error);
}

INSTANTIATE_TEST_SUITE_P(Golden, TextInvariants, ::testing::ValuesIn(golden_text_configs()));

// Rewrites the released checkpoint of a golden model under another naming (fused experts,
// VL prefixes) and checks the logits are bit-identical.
void write_renamed(const std::string& src_dir, const std::string& dst_dir, const llm::TextConfig& cfg,
                   const std::string& prefix, const std::string& lm_head, bool fused) {
  Checkpoint src = Checkpoint::open(src_dir + "/model.safetensors");
  SafetensorsWriter w;
  const int64_t E = cfg.num_local_experts, I = cfg.intermediate_size, H = cfg.hidden_size;
  for (const std::string& name : src.names()) {
    if (name == "lm_head.weight") {
      w.add(lm_head, src.get(name));
      continue;
    }
    std::string rest = name.substr(std::string("model.").size());
    if (fused && rest.find("block_sparse_moe.experts.") != std::string::npos) continue;
    if (fused && rest.find("block_sparse_moe.gate.weight") != std::string::npos)
      rest.replace(rest.find("block_sparse_moe.gate"), std::string("block_sparse_moe.gate").size(), "mlp.gate");
    w.add(prefix + rest, src.get(name));
  }
  if (fused) {
    for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".block_sparse_moe.experts.";
      const DType dt = src.get(p + "0.w1.weight").dtype();
      Tensor gu = ops::empty({E, 2 * I, H}, dt), down = ops::empty({E, H, I}, dt);
      for (int64_t e = 0; e < E; ++e) {
        const std::string q = p + std::to_string(e) + ".";
        ops::copy_into(gu.select(0, e).slice(0, 0, I), src.get(q + "w1.weight"));
        ops::copy_into(gu.select(0, e).slice(0, I, 2 * I), src.get(q + "w3.weight"));
        ops::copy_into(down.select(0, e), src.get(q + "w2.weight"));
      }
      w.add(prefix + "layers." + std::to_string(l) + ".mlp.experts.gate_up_proj", gu);
      w.add(prefix + "layers." + std::to_string(l) + ".mlp.experts.down_proj", down);
    }
  }
  std::filesystem::create_directories(dst_dir);
  w.write(dst_dir + "/model.safetensors");
}

TEST(TextWeightsNaming, FusedAndVlPrefixedLayoutsLoadTheSameModel) {
  const std::string name = golden_text_configs()[1];
  LoadedTextModel ref = load_text_model(golden_dir(name, "released"));
  const auto ids = some_ids(20, ref.cfg.vocab_size, 8);
  llm::SequenceState s0 = ref.model.new_state();
  const Tensor want = ref.model.prefill({llm::Segment::tokens(ids)}, s0);
  struct Variant {
    std::string prefix, lm_head;
    bool fused;
    llm::MoeLayout moe;
  };
  for (const Variant& v : {Variant{"model.language_model.", "lm_head.weight", true, llm::MoeLayout::fused},
                           Variant{"language_model.model.", "language_model.lm_head.weight", false,
                                   llm::MoeLayout::per_expert}}) {
    const std::string dir = temp_dir("renamed");
    write_renamed(golden_dir(name, "released"), dir, ref.cfg, v.prefix, v.lm_head, v.fused);
    Checkpoint ck = Checkpoint::open(dir + "/model.safetensors");
    const llm::TextWeightNaming naming = llm::TextWeightNaming::detect(ck);
    EXPECT_EQ(naming.layers_prefix, v.prefix);
    EXPECT_EQ(naming.lm_head, v.lm_head);
    EXPECT_EQ(naming.moe, v.moe);
    llm::TextModel m = llm::TextModel::load(ck, ref.cfg, naming);
    llm::SequenceState st = m.new_state();
    EXPECT_EQ(max_abs_diff(m.prefill({llm::Segment::tokens(ids)}, st), want), 0.0) << v.prefix;
  }
}

TEST(TextWeightsNaming, LoadErrorsNameTheTensor) {
  const std::string name = golden_text_configs()[0];
  LoadedTextModel ref = load_text_model(golden_dir(name, "released"));
  llm::TextConfig wrong = ref.cfg;
  wrong.intermediate_size += 1;
  try {
    llm::TextModel::load(ref.ckpt, wrong, llm::TextWeightNaming::released_text());
    FAIL() << "expected a shape error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.0.block_sparse_moe.experts.0.w1.weight"), std::string::npos)
        << e.what();
  }
  try {
    llm::TextModel::load(ref.ckpt, ref.cfg, llm::TextWeightNaming::native_vl());
    FAIL() << "expected a missing-tensor error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.language_model.embed_tokens.weight"), std::string::npos) << e.what();
  }
  llm::SequenceState st = ref.model.new_state();
  EXPECT_THROW(ref.model.prefill({llm::Segment::tokens({static_cast<int32_t>(ref.cfg.vocab_size)})}, st), Error);
  EXPECT_THROW(ref.model.prefill({}, st), Error);
  EXPECT_EQ(st.position(), 0) << "a rejected prompt leaves the state untouched";
}

}  // namespace
}  // namespace mvl::test
