// The text tensor table: the released config gives the spec's key counts in both layouts with
// unique names, the same bytes per layer either way, axes that mean what the header says
// (what sharding and quantization rules will read), and one layout detection.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "kernels/core/error.h"
#include "llm/weights/tensor_table.h"

namespace mvl::llm {
namespace {

std::vector<TextTensor> walk(const TextConfig& c, const TextWeightNaming& n) {
  std::vector<TextTensor> v;
  for_each_text_tensor(c, n, [&v](const TextTensor& t) { v.push_back(t); });
  return v;
}

TEST(TextTensorTable, ReleasedAndNativeKeyCounts) {
  const TextConfig c = TextConfig::released();
  const auto released = walk(c, TextWeightNaming::released_vl());
  const auto native = walk(c, TextWeightNaming::native_vl());
  // spec §1.2: 3 globals + 80 layers x (2 norms + 4 attention + router + 32 x 3 experts).
  EXPECT_EQ(released.size(), 3u + 80u * 103u);
  // spec §1.5: fused experts, two tensors per layer.
  EXPECT_EQ(native.size(), 3u + 80u * 9u);
  for (const auto* v : {&released, &native}) {
    std::set<std::string> names;
    for (const auto& t : *v) EXPECT_TRUE(names.insert(t.name).second) << "duplicate " << t.name;
  }
  // Same parameters per layer (and globally) in both layouts.
  std::map<int64_t, int64_t> a, b;
  for (const auto& t : released) a[t.layer] += shape_numel(t.shape);
  for (const auto& t : native) b[t.layer] += shape_numel(t.shape);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 81u);
}

TEST(TextTensorTable, NamesFollowTheNaming) {
  const TextConfig c = TextConfig::released();
  std::map<std::string, TextTensor> m;
  for (const auto& t : walk(c, TextWeightNaming::released_vl())) m[t.name] = t;
  const auto& w1 = m.at("language_model.model.layers.5.block_sparse_moe.experts.31.w1.weight");
  EXPECT_EQ(w1.role, TextRole::expert_w1);
  EXPECT_EQ(w1.layer, 5);
  EXPECT_EQ(w1.expert, 31);
  EXPECT_EQ(w1.shape, (Shape{9216, 6144}));
  EXPECT_EQ(m.at("language_model.model.layers.7.self_attn.k_proj.weight").role, TextRole::attn_k);
  EXPECT_EQ(m.at("language_model.model.layers.6.self_attn.norm.weight").role,
            TextRole::lightning_norm);
  EXPECT_EQ(m.at("language_model.lm_head.weight").role, TextRole::lm_head);
  EXPECT_EQ(m.count("language_model.model.layers.7.self_attn.qkv_proj.weight"), 0u);
  for (const auto& [name, t] : m)
    EXPECT_EQ(text_tensor_name(TextWeightNaming::released_vl(), t.role, t.layer, t.expert), name);
  // Native: the fused tensors, and the text-only naming's prefix.
  std::set<std::string> native;
  for (const auto& t : walk(c, TextWeightNaming::native_vl())) native.insert(t.name);
  EXPECT_TRUE(native.count("model.language_model.layers.0.mlp.experts.gate_up_proj"));
  EXPECT_TRUE(native.count("model.language_model.layers.79.mlp.experts.down_proj"));
  EXPECT_TRUE(native.count("model.language_model.layers.3.mlp.gate.weight"));
  EXPECT_TRUE(native.count("lm_head.weight"));
  EXPECT_EQ(text_tensor_name(TextWeightNaming::released_text(), TextRole::final_norm),
            "model.norm.weight");
  // A tied config has no LM head entry.
  TextConfig tied = c;
  tied.tie_word_embeddings = true;
  for (const auto& t : walk(tied, TextWeightNaming::released_vl()))
    EXPECT_NE(t.role, TextRole::lm_head);
}

TEST(TextTensorTable, AxesMeanOutputInputAndExperts) {
  const TextConfig c = TextConfig::released();
  const int64_t H = c.hidden_size, q = c.num_attention_heads * c.head_dim;
  for (const auto& n : {TextWeightNaming::released_vl(), TextWeightNaming::native_vl()}) {
    for (const auto& t : walk(c, n)) {
      SCOPED_TRACE(t.name);
      EXPECT_EQ(t.dtype, DType::bf16);
      if (!t.is_matrix()) {
        EXPECT_EQ(t.shape.size(), 1u);
        EXPECT_EQ(t.out_axis, -1);
        continue;
      }
      ASSERT_GE(t.out_axis, 0);
      const int64_t out = t.shape[t.out_axis], in = t.shape[t.in_axis];
      EXPECT_EQ(t.expert_axis >= 0,
                t.role == TextRole::experts_w13 || t.role == TextRole::experts_w2);
      if (t.expert_axis >= 0) {
        EXPECT_EQ(t.shape[t.expert_axis], c.num_local_experts);
      }
      EXPECT_EQ(t.expert >= 0, t.role == TextRole::expert_w1 || t.role == TextRole::expert_w3 ||
                                   t.role == TextRole::expert_w2);
      switch (t.role) {
        case TextRole::embedding:
        case TextRole::lm_head:
          EXPECT_EQ(out, c.vocab_size);
          EXPECT_EQ(in, H);
          break;
        case TextRole::lightning_qkv:
          EXPECT_EQ(out, 3 * q);
          EXPECT_EQ(in, H);
          break;
        case TextRole::attn_q:
        case TextRole::lightning_gate:
          EXPECT_EQ(out, q);
          EXPECT_EQ(in, H);
          break;
        case TextRole::attn_k:
        case TextRole::attn_v:
          EXPECT_EQ(out, c.num_key_value_heads * c.head_dim);
          break;
        case TextRole::attn_o:
        case TextRole::lightning_out:
          EXPECT_EQ(out, H);
          EXPECT_EQ(in, q);
          break;
        case TextRole::router:
          EXPECT_EQ(out, c.num_local_experts);
          EXPECT_EQ(in, H);
          break;
        case TextRole::expert_w1:
        case TextRole::expert_w3:
          EXPECT_EQ(out, c.intermediate_size);
          EXPECT_EQ(in, H);
          break;
        case TextRole::experts_w13:
          EXPECT_EQ(out, 2 * c.intermediate_size);
          EXPECT_EQ(in, H);
          break;
        case TextRole::expert_w2:
        case TextRole::experts_w2:
          EXPECT_EQ(out, H);
          EXPECT_EQ(in, c.intermediate_size);
          break;
        default:
          ADD_FAILURE() << text_role_name(t.role) << " should not be a matrix";
      }
    }
  }
}

TEST(TextTensorTable, RejectsAMismatchedLayerList) {
  TextConfig c = TextConfig::released();
  c.layer_types.pop_back();
  EXPECT_THROW(walk(c, TextWeightNaming::released_vl()), Error);
}

TEST(TextTensorTable, FindDetectsTheLayout) {
  auto in = [](std::set<std::string> names) {
    return [names](const std::string& n) { return names.count(n) > 0; };
  };
  const auto released = TextWeightNaming::find(
      in({"language_model.model.embed_tokens.weight", "language_model.lm_head.weight"}));
  ASSERT_TRUE(released.has_value());
  EXPECT_EQ(released->layers_prefix, "language_model.model.");
  EXPECT_EQ(released->lm_head, "language_model.lm_head.weight");
  EXPECT_EQ(released->moe, MoeLayout::per_expert);
  const auto native =
      TextWeightNaming::find(in({"model.language_model.norm.weight", "lm_head.weight",
                                 "model.language_model.layers.0.mlp.experts.gate_up_proj"}));
  ASSERT_TRUE(native.has_value());
  EXPECT_EQ(native->layers_prefix, "model.language_model.");
  EXPECT_EQ(native->moe, MoeLayout::fused);
  const auto text = TextWeightNaming::find(in({"model.embed_tokens.weight"}));
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(text->layers_prefix, "model.");
  EXPECT_EQ(text->lm_head, "") << "no LM head stored: tied";
  EXPECT_FALSE(TextWeightNaming::find(in({"foo", "model.vision_tower.x"})).has_value());
}

}  // namespace
}  // namespace mvl::llm
