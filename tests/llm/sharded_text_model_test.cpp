// The sharded text model on CPU ranks (LocalComm, one thread per rank) against the
// single-device TextModel on the text goldens' tiny models: for N = 1, 2, 4 (3 and 8 where
// the heads and experts split), prefill logits of every position, 32 greedy decode steps,
// a rewind to the prompt followed by other tokens, and chunked prefill, all within 1e-5 of
// max |logit|. l2s1 at N = 4 and l3s1 at N = 2 replicate KV heads (N > KV heads, GQA).
// Loading: each rank holds views into the mapped file or copies of exactly its slices.
#include <cstdio>
#include <string>
#include <utility>

#include "kernels/core/error.h"
#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/parallel/shard_rules.h"
#include "llm/parallel/sharded_text_model.h"
#include "tests/llm/text_test_util.h"

namespace mvl::test {
namespace {

constexpr double kRelTol = 1e-5;

double rel_err(const Tensor& got, const Tensor& ref) {
  return max_abs_diff(got, ref) / max_abs(ref);
}

struct Case {
  std::string config, layout;  // layout: released (per-expert tensors) | native (fused experts)
  int tp;
};

class ShardedTextModel : public ::testing::TestWithParam<Case> {};

TEST_P(ShardedTextModel, LogitsMatchOneDevice) {
  const Case c = GetParam();
  LoadedTextModel m = load_text_model(golden_dir(c.config, c.layout));
  const llm::ShardedTextModel sm =
      llm::ShardedTextModel::load(m.ckpt, m.cfg, llm::TextWeightNaming::detect(m.ckpt), c.tp);
  ASSERT_EQ(sm.tp(), c.tp);
  const Checkpoint golden = Checkpoint::open(golden_dir(c.config) + "/golden.safetensors");
  const int64_t B = m.cfg.block_size, n = 3 * B + 5, V = m.cfg.vocab_size;
  const std::vector<int32_t> ids = to_ids(golden.get("ids_" + std::to_string(n)));
  double worst = 0;
  auto check = [&](const Tensor& got, const Tensor& ref, const std::string& what) {
    const double e = rel_err(got, ref);
    worst = std::max(worst, e);
    EXPECT_LE(e, kRelTol) << what << " (" << c.config << ", tp " << c.tp << ")";
  };

  // Prefill, every position.
  llm::PrefillOptions all;
  all.all_logits = true;
  llm::SequenceState st = m.model.new_state();
  llm::ShardedState sst = sm.new_state();
  const Tensor ref = m.model.prefill({llm::Segment::tokens(ids)}, st, all);
  check(sm.prefill({llm::Segment::tokens(ids)}, sst, all), ref, "prefill logits");
  ASSERT_EQ(sst.position(), n);
  for (int r = 0; r < c.tp; ++r) EXPECT_EQ(sst.rank(r).position(), n);
  const llm::SequenceState::Snapshot snap = st.snapshot();
  const llm::ShardedState::Snapshot ssnap = sst.snapshot();

  // 32 greedy decode steps (the single device's tokens drive both).
  Tensor last = ref.select(0, n - 1);
  for (int i = 0; i < 32; ++i) {
    const int32_t t = ops::argmax(last);
    last = m.model.decode(t, st);
    check(sm.decode(t, sst), last, "decode step " + std::to_string(i));
  }

  // Rewind to the end of the prompt and continue with other tokens.
  st.restore(snap);
  sst.restore(ssnap);
  ASSERT_EQ(sst.position(), n);
  for (int i = 0; i < 8; ++i) {
    const int32_t t = static_cast<int32_t>((7 * i + 3) % V);
    check(sm.decode(t, sst), m.model.decode(t, st),
          "decode after rewind, step " + std::to_string(i));
  }

  // Chunked prefill (chunks not a multiple of the lightning block) from a fresh state.
  llm::PrefillOptions chunked = all;
  chunked.chunk_size = B - 1;
  llm::ShardedState fresh = sm.new_state();
  check(sm.prefill({llm::Segment::tokens(ids)}, fresh, chunked), ref, "chunked prefill");
  std::printf("%s/%s tp %d (KV heads %lld/rank of %lld): worst relative error %.2e (bound %.0e)\n",
              c.config.c_str(), c.layout.c_str(), c.tp,
              static_cast<long long>(sm.plan(0).kv_heads()),
              static_cast<long long>(m.cfg.num_key_value_heads), worst, kRelTol);
}

// Every size in {1, 2, 3, 4, 8} that splits the golden's heads, KV heads and experts.
std::vector<Case> cases() {
  std::vector<Case> out;
  for (const auto& name : golden_text_configs()) {
    const std::string path = golden_dir(name, "released") + "/config.json";
    const llm::TextConfig cfg = llm::TextConfig::from_json(json::parse_file(path), path);
    for (int tp : {1, 2, 3, 4, 8})
      if (llm::tp_size_problem(cfg, tp).empty())
        for (const char* layout : {"released", "native"}) out.push_back({name, layout, tp});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Goldens, ShardedTextModel, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return i.param.config + "_" + i.param.layout + "_tp" +
                                  std::to_string(i.param.tp);
                         });

// Eight ranks need eight heads: the l2s1 golden's shape widened to 8 heads (2 KV heads, so
// each KV head is replicated on 4 ranks) and 8 experts, with random weights.
TEST(ShardedTextModelEightRanks, RandomWeightsMatchOneDevice) {
  LoadedTextModel base = load_text_model(golden_dir("l2s1_hd16_b8", "released"));
  llm::TextConfig cfg = base.cfg;
  cfg.num_attention_heads = 8;
  cfg.num_key_value_heads = 2;
  cfg.head_dim = 8;
  cfg.rotary_dim = 4;
  cfg.num_local_experts = 8;
  const llm::TextModel one = llm::TextModel::random(cfg, {}, {}, 7);
  std::vector<int32_t> ids;
  for (int i = 0; i < 29; ++i) ids.push_back(static_cast<int32_t>((i * 37 + 11) % cfg.vocab_size));
  llm::PrefillOptions all;
  all.all_logits = true;
  for (int tp : {2, 4, 8}) {
    const llm::ShardedTextModel sm = llm::ShardedTextModel::from_weights(one.weights(), cfg, tp);
    llm::SequenceState st = one.new_state();
    llm::ShardedState sst = sm.new_state();
    const Tensor ref = one.prefill({llm::Segment::tokens(ids)}, st, all);
    EXPECT_LE(rel_err(sm.prefill({llm::Segment::tokens(ids)}, sst, all), ref), kRelTol)
        << "tp " << tp;
    const llm::ShardedState::Snapshot ssnap = sst.snapshot();
    const llm::SequenceState::Snapshot snap = st.snapshot();
    Tensor last = ref.select(0, ref.dim(0) - 1);
    for (int i = 0; i < 32; ++i) {
      const int32_t t = ops::argmax(last);
      last = one.decode(t, st);
      ASSERT_LE(rel_err(sm.decode(t, sst), last), kRelTol) << "tp " << tp << " decode step " << i;
    }
    st.restore(snap);
    sst.restore(ssnap);
    EXPECT_LE(rel_err(sm.decode(5, sst), one.decode(5, st)), kRelTol)
        << "tp " << tp << " after rewind";
  }
}

// Per-layer traces (TextModel's names) of a prefill and 8 decode steps: tp 1 runs one
// device's ops, so every traced tensor is bit-identical; tp 2 and 4 stay within kRelTol of
// each tensor's max |value|. The same comparison runs on a GPU in sharded_text_model_cuda_test.
TEST(ShardedTextModelTrace, LayerByLayerMatchesOneDevice) {
  LoadedTextModel m = load_text_model(golden_dir("l2s1_hd16_b8", "released"));
  using Trace = std::vector<std::pair<std::string, Tensor>>;
  const std::vector<int32_t> prompt = {5, 99, 1, 42, 200, 7, 8, 250, 31, 64, 2, 17};
  auto run = [&](auto& model, auto st) {
    std::vector<Trace> steps(1);
    auto rec = [&](const std::string& name, const Tensor& x) {
      steps.back().emplace_back(name, ops::clone(x));
    };
    llm::PrefillOptions po;
    po.trace = rec;
    model.prefill({llm::Segment::tokens(prompt)}, st, po);
    for (int i = 0; i < 8; ++i) {
      steps.emplace_back();
      model.decode(static_cast<int32_t>((13 * i + 2) % m.cfg.vocab_size), st, rec);
    }
    return steps;
  };
  const std::vector<Trace> ref = run(m.model, m.model.new_state());
  ASSERT_EQ(ref[0].size(), 2 * static_cast<size_t>(m.cfg.num_hidden_layers) + 3);
  for (int tp : {1, 2, 4}) {
    const llm::ShardedTextModel sm =
        llm::ShardedTextModel::load(m.ckpt, m.cfg, llm::TextWeightNaming::detect(m.ckpt), tp);
    const std::vector<Trace> got = run(sm, sm.new_state());
    ASSERT_EQ(got.size(), ref.size());
    double worst = 0;
    for (size_t s = 0; s < ref.size(); ++s) {
      ASSERT_EQ(got[s].size(), ref[s].size()) << "tp " << tp << " step " << s;
      for (size_t i = 0; i < ref[s].size(); ++i) {
        ASSERT_EQ(got[s][i].first, ref[s][i].first);
        const double e = rel_err(got[s][i].second, ref[s][i].second);
        worst = std::max(worst, e);
        const std::string where =
            "tp " + std::to_string(tp) + ", step " + std::to_string(s) + ", " + ref[s][i].first;
        if (tp == 1)
          ASSERT_EQ(max_abs_diff(got[s][i].second, ref[s][i].second), 0.0) << where;
        else
          ASSERT_LE(e, kRelTol) << where;
      }
    }
    std::printf("traces tp %d: %zu steps x %zu tensors, worst relative error %.2e\n", tp,
                ref.size(), ref[0].size(), worst);
  }
}

TEST(ShardedTextModelPlan, GqaReplicatesKvHeadsWhenRanksExceedThem) {
  LoadedTextModel m =
      load_text_model(golden_dir("l2s1_hd16_b8", "released"));  // 4 heads, 2 KV heads
  for (int r = 0; r < 4; ++r) {
    const llm::ShardPlan p = llm::ShardPlan::make(m.cfg, r, 4);
    EXPECT_EQ(p.heads(), 1);
    EXPECT_EQ(p.kv_heads(), 1);
    EXPECT_EQ(p.kv0, r / 2) << "query head " << r << " reads KV head " << r / 2;
  }
  const llm::ShardPlan p = llm::ShardPlan::make(m.cfg, 1, 2);
  EXPECT_EQ(p.kv0, 1);
  EXPECT_EQ(p.kv1, 2);
}

// The rules hang on the table's roles and axes: the slices of all ranks tile each split
// tensor exactly once, replicated tensors are whole everywhere, every expert has one owner.
TEST(ShardedTextModelPlan, RanksTileEverySplitTensor) {
  LoadedTextModel m = load_text_model(golden_dir("l2s1_hd16_b8", "native"));
  for (int N : {1, 2, 4}) {
    for (const auto& naming :
         {llm::TextWeightNaming::released_text(), llm::TextWeightNaming::native_vl()}) {
      llm::for_each_text_tensor(m.cfg, naming, [&](const llm::TextTensor& t) {
        int64_t covered = 0, holders = 0;
        for (int r = 0; r < N; ++r) {
          const llm::TensorShard s = llm::shard_of(t, m.cfg, llm::ShardPlan::make(m.cfg, r, N));
          covered += s.numel(t);
          holders += s.held;
        }
        const int64_t whole = shape_numel(t.shape);
        const bool per_expert = t.role == llm::TextRole::expert_w1 ||
                                t.role == llm::TextRole::expert_w2 ||
                                t.role == llm::TextRole::expert_w3;
        const bool replicated =
            !per_expert && llm::shard_of(t, m.cfg, llm::ShardPlan::make(m.cfg, 0, N)).axis < 0;
        const bool kv_replicated =
            (t.role == llm::TextRole::attn_k || t.role == llm::TextRole::attn_v) &&
            N > m.cfg.num_key_value_heads;
        if (per_expert)
          EXPECT_EQ(holders, 1) << t.name;
        else if (replicated)
          EXPECT_EQ(covered, whole * N) << t.name;
        else if (kv_replicated)
          EXPECT_EQ(covered, whole * N / m.cfg.num_key_value_heads) << t.name;
        else
          EXPECT_EQ(covered, whole) << t.name << " N=" << N;
      });
    }
  }
}

TEST(ShardedTextModelPlan, RefusesSizesThatDoNotSplitAndNamesTheOnesThatDo) {
  LoadedTextModel m = load_text_model(golden_dir("l2s1_hd16_b8", "released"));
  try {
    llm::ShardedTextModel::from_weights(m.model.weights(), m.cfg, 3);
    FAIL() << "tp 3 accepted for 4 heads";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("use one of 1, 2, 4"), std::string::npos) << e.what();
  }
}

// Every rank weight is a view into the mapped checkpoint or a heap copy of exactly its own
// slice; the copies add up to the column-split projections (out_proj, o_proj) once.
TEST(ShardedTextModelLoad, RanksHoldOnlyTheirSlices) {
  LoadedTextModel m = load_text_model(golden_dir("l2s1_hd16_b8", "released"));
  const int N = 4;
  std::vector<llm::ShardLoadStats> stats;
  const llm::ShardedTextModel sm = llm::ShardedTextModel::load(
      m.ckpt, m.cfg, llm::TextWeightNaming::detect(m.ckpt), N, {}, &stats);
  uint64_t column_split = 0, full_bytes = 0;
  for (const auto& l : m.model.weights().layers)
    column_split += l.kind == llm::AttnKind::lightning ? l.lightning.out_proj.nbytes()
                                                       : l.softmax.o_proj.nbytes();
  uint64_t heap = 0, copied = 0, viewed = 0;
  for (int r = 0; r < N; ++r) {
    const llm::TextWeights& w = sm.weights(r);
    std::vector<Tensor> ts = {w.embed_tokens, w.lm_head, w.norm};
    for (const auto& l : w.layers) {
      for (const Tensor& t :
           {l.input_layernorm, l.post_attention_layernorm, l.gate, l.lightning.qkv_proj,
            l.lightning.output_gate, l.lightning.out_proj, l.lightning.norm, l.softmax.q_proj,
            l.softmax.k_proj, l.softmax.v_proj, l.softmax.o_proj})
        if (t.defined()) ts.push_back(t);
      for (const auto& e : l.experts) ts.insert(ts.end(), {e.w1, e.w3, e.w2});
    }
    for (const Tensor& t : ts) {
      if (dynamic_cast<const MmapStorage*>(t.storage().get())) continue;
      EXPECT_EQ(t.storage()->size(), t.nbytes())
          << "a host copy larger than its slice: " << t.str();
      heap += t.nbytes();
    }
    copied += stats[r].copied_bytes;
    viewed += stats[r].view_bytes;
    EXPECT_LE(stats[r].largest_slice, m.model.weights().embed_tokens.nbytes());
  }
  for (const auto& t : {m.model.weights().embed_tokens, m.model.weights().lm_head})
    full_bytes += t.nbytes();
  // Each rank read every shared entry and only its own experts' entries of the table.
  int64_t entries = 0, expert_entries = 0;
  llm::for_each_text_tensor(m.cfg, llm::TextWeightNaming::detect(m.ckpt),
                            [&](const llm::TextTensor& t) {
                              ++entries;
                              expert_entries += t.is_expert();
                            });
  for (int r = 0; r < N; ++r)
    EXPECT_EQ(stats[r].tensors_read,
              static_cast<uint64_t>(entries - expert_entries + expert_entries / N))
        << r;
  EXPECT_EQ(heap, column_split) << "host bytes copied by the sharded load";
  EXPECT_EQ(copied, column_split);
  EXPECT_GT(viewed, full_bytes);  // the vocabulary rows at least, every rank its own, no copy
}

}  // namespace
}  // namespace mvl::test
