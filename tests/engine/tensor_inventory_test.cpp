// Tensor inventory: the released config gives exactly the 8,637 released keys (spec §1.2)
// and 1,117 native ones (§1.5), parameter counts match the model card, and the checkpoint
// check names precisely the missing / unexpected / wrong-shape / wrong-dtype tensors.
#include <filesystem>
#include <functional>
#include <set>

#include "app/engine/inspect/memory_plan.h"
#include "app/engine/inspect/tensor_inventory.h"
#include "app/engine/inspect/tiny_model.h"
#include "kernels/core/error.h"
#include "tests/support/test_util.h"

namespace mvl::engine {
namespace {

std::map<std::string, Shape> by_name(const std::vector<ExpectedTensor>& v) {
  std::map<std::string, Shape> m;
  for (const auto& e : v) m[e.name] = e.shape;
  return m;
}

TEST(TensorInventory, ReleasedConfigHas8637Keys) {
  const auto ts = expected_tensors(ModelConfig::released(), CheckpointLayout::released);
  const auto m = by_name(ts);
  EXPECT_EQ(ts.size(), 8637u);
  EXPECT_EQ(m.size(), 8637u) << "names must be unique";
  size_t vision = 0, text_layers = 0, global = 0;
  for (const auto& [n, _] : m) {
    if (n.rfind("vision_tower.vision_model.encoder.layers.", 0) == 0) ++vision;
    else if (n.rfind("language_model.model.layers.", 0) == 0) ++text_layers;
    else ++global;
  }
  EXPECT_EQ(global, 13u);
  EXPECT_EQ(vision, 24u * 16u);
  EXPECT_EQ(text_layers, 80u * 103u);
  // Spot checks against the spec §1.2 tables.
  EXPECT_EQ(m.at("language_model.model.embed_tokens.weight"), (Shape{200064, 6144}));
  EXPECT_EQ(m.at("language_model.lm_head.weight"), (Shape{200064, 6144}));
  EXPECT_EQ(m.at("vision_tower.vision_model.embeddings.patch_embedding.weight"), (Shape{1024, 3, 14, 14}));
  EXPECT_EQ(m.at("vision_tower.vision_model.embeddings.position_embedding.weight"), (Shape{577, 1024}));
  EXPECT_EQ(m.at("vision_tower.vision_model.pre_layrnorm.bias"), (Shape{1024}));
  EXPECT_EQ(m.at("multi_modal_projector.linear_1.weight"), (Shape{6144, 1024}));
  EXPECT_EQ(m.at("multi_modal_projector.linear_2.weight"), (Shape{6144, 6144}));
  EXPECT_EQ(m.at("image_newline"), (Shape{6144}));
  EXPECT_EQ(m.at("vision_tower.vision_model.encoder.layers.23.mlp.fc1.weight"), (Shape{4096, 1024}));
  EXPECT_EQ(m.at("vision_tower.vision_model.encoder.layers.0.mlp.fc2.weight"), (Shape{1024, 4096}));
  EXPECT_EQ(m.at("language_model.model.layers.0.self_attn.qkv_proj.weight"), (Shape{24576, 6144}));
  EXPECT_EQ(m.at("language_model.model.layers.0.self_attn.output_gate.weight"), (Shape{8192, 6144}));
  EXPECT_EQ(m.at("language_model.model.layers.78.self_attn.out_proj.weight"), (Shape{6144, 8192}));
  EXPECT_EQ(m.at("language_model.model.layers.6.self_attn.norm.weight"), (Shape{8192}));
  EXPECT_EQ(m.at("language_model.model.layers.7.self_attn.q_proj.weight"), (Shape{8192, 6144}));
  EXPECT_EQ(m.at("language_model.model.layers.79.self_attn.k_proj.weight"), (Shape{1024, 6144}));
  EXPECT_EQ(m.at("language_model.model.layers.7.self_attn.o_proj.weight"), (Shape{6144, 8192}));
  EXPECT_EQ(m.at("language_model.model.layers.5.block_sparse_moe.gate.weight"), (Shape{32, 6144}));
  EXPECT_EQ(m.at("language_model.model.layers.5.block_sparse_moe.experts.31.w1.weight"), (Shape{9216, 6144}));
  EXPECT_EQ(m.at("language_model.model.layers.5.block_sparse_moe.experts.0.w2.weight"), (Shape{6144, 9216}));
  EXPECT_EQ(m.count("language_model.model.layers.7.self_attn.qkv_proj.weight"), 0u);
  EXPECT_EQ(m.count("language_model.model.layers.8.self_attn.q_proj.weight"), 0u);
  EXPECT_EQ(m.count("vision_tower.vision_model.post_layernorm.weight"), 0u);
  EXPECT_EQ(m.count("vision_tower.vision_model.embeddings.patch_embedding.bias"), 0u);
}

TEST(TensorInventory, NativeLayoutHas1117KeysWithFusedExperts) {
  const auto ts = expected_tensors(ModelConfig::released(), CheckpointLayout::native);
  const auto m = by_name(ts);
  EXPECT_EQ(ts.size(), 1117u);
  EXPECT_EQ(m.size(), 1117u);
  EXPECT_EQ(m.at("model.language_model.layers.0.mlp.experts.gate_up_proj"), (Shape{32, 18432, 6144}));
  EXPECT_EQ(m.at("model.language_model.layers.79.mlp.experts.down_proj"), (Shape{32, 6144, 9216}));
  EXPECT_EQ(m.at("model.language_model.layers.3.mlp.gate.weight"), (Shape{32, 6144}));
  EXPECT_EQ(m.at("lm_head.weight"), (Shape{200064, 6144}));
  EXPECT_EQ(m.at("model.vision_tower.embeddings.class_embedding"), (Shape{1024}));
  EXPECT_EQ(m.at("model.multi_modal_projector.linear_2.bias"), (Shape{6144}));
  EXPECT_EQ(m.at("model.image_newline"), (Shape{6144}));
  // Every released non-expert key maps to a native key of the same shape (spec §1.5 rules).
  const auto released = expected_tensors(ModelConfig::released(), CheckpointLayout::released);
  size_t mapped = 0;
  for (const auto& e : released) {
    if (e.role == TensorRole::expert) continue;
    std::string n = e.name;
    auto swap = [&n](const std::string& from, const std::string& to) {
      if (n.rfind(from, 0) == 0) n = to + n.substr(from.size());
    };
    swap("language_model.lm_head.", "lm_head.");
    swap("language_model.model.", "model.language_model.");
    swap("vision_tower.vision_model.", "model.vision_tower.");
    swap("multi_modal_projector.", "model.multi_modal_projector.");
    swap("image_newline", "model.image_newline");
    if (auto p = n.find("block_sparse_moe.gate."); p != std::string::npos) n.replace(p, 22, "mlp.gate.");
    ASSERT_TRUE(m.count(n)) << e.name << " -> " << n;
    EXPECT_EQ(m.at(n), e.shape) << n;
    ++mapped;
  }
  EXPECT_EQ(mapped + 2 * 80, 1117u);  // plus gate_up_proj and down_proj per layer
}

TEST(TensorInventory, ParameterCountsMatchTheModelCard) {
  const ParamCounts p = count_params(ModelConfig::released());
  // Independent arithmetic from spec §1.2 / §6.
  const int64_t H = 6144, V = 200064, E = 32, I = 9216;
  const int64_t lightning = 3 * 8192 * H + 8192 * H + H * 8192 + 8192;
  const int64_t softmax = 8192 * H + 2 * 1024 * H + H * 8192;
  const int64_t per_layer_common = 2 * H + E * H;
  const int64_t experts = 80 * E * 3 * I * H;
  const int64_t text = 2 * V * H + H + 70 * lightning + 10 * softmax + 80 * per_layer_common + experts;
  EXPECT_EQ(p.text, text);
  EXPECT_EQ(p.experts, experts);
  EXPECT_EQ(p.embedding, 2 * V * H);
  EXPECT_EQ(p.projector, 1024 * H + H + H * H + H + H);
  EXPECT_NEAR(static_cast<double>(p.vision), 303.5e6, 0.5e6);
  EXPECT_NEAR(static_cast<double>(p.total), 456.4e9, 0.1e9);       // "456B total"
  EXPECT_NEAR(static_cast<double>(p.active), 45.9e9, 0.1e9);       // "45.9B activated"
  EXPECT_EQ(p.active, text - 2 * V * H - experts + experts / E * 2);
  EXPECT_EQ(p.total, p.text + p.vision + p.projector);
}

TEST(TensorInventory, DetectLayout) {
  EXPECT_EQ(detect_layout({"language_model.model.norm.weight", "image_newline"}, CheckpointLayout::native),
            CheckpointLayout::released);
  EXPECT_EQ(detect_layout({"model.language_model.norm.weight", "lm_head.weight"}, CheckpointLayout::released),
            CheckpointLayout::native);
  EXPECT_EQ(detect_layout({"foo"}, CheckpointLayout::native), CheckpointLayout::native);
}

// A tiny checkpoint rewritten as one file with edits, for the inventory check.
class InventoryCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = test::temp_dir("inv-src");
    TinyModelOptions o;
    o.out_dir = src_;
    o.tokenizer_path = test::source_path("assets/models/tiny-random/tokenizer.json");
    write_tiny_model(o);
    cfg_ = ModelConfig::load_dir(src_);
  }
  // Copies the checkpoint into one file, letting `edit` change the tensor list.
  std::string rewrite(const std::function<void(std::map<std::string, Tensor>&)>& edit) {
    const Checkpoint ck = Checkpoint::open(src_);
    std::map<std::string, Tensor> ts;
    for (const auto& n : ck.names()) ts[n] = ck.get(n);
    edit(ts);
    const std::string dir = test::temp_dir("inv-edit");
    SafetensorsWriter w;
    for (const auto& [n, t] : ts) w.add(n, t);
    w.write(dir + "/model.safetensors");
    return dir;
  }
  InventoryReport check(const std::string& dir) { return check_inventory(cfg_, Checkpoint::open(dir)); }
  std::string src_;
  ModelConfig cfg_;
};

TEST_F(InventoryCheck, TinyModelIsComplete) {
  const InventoryReport r = check_inventory(cfg_, Checkpoint::open(src_));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.layout, CheckpointLayout::released);
  EXPECT_EQ(r.expected, r.found);
  EXPECT_EQ(r.by_dtype.size(), 1u);
  EXPECT_EQ(r.by_dtype.at(DType::bf16).tensors, static_cast<int64_t>(r.found));
}

TEST_F(InventoryCheck, NamesExactlyTheMissingTensor) {
  const std::string gone = "language_model.model.layers.2.block_sparse_moe.experts.1.w3.weight";
  const auto r = check(rewrite([&](auto& ts) { ts.erase(gone); }));
  ASSERT_EQ(r.missing.size(), 1u);
  EXPECT_EQ(r.missing[0].name, gone);
  EXPECT_EQ(r.num_problems(), 1u);
}

TEST_F(InventoryCheck, NamesExactlyTheReshapedTensor) {
  const std::string name = "vision_tower.vision_model.encoder.layers.1.mlp.fc1.weight";
  const auto r = check(rewrite([&](auto& ts) { ts[name] = ts[name].view({32, 64}); }));
  ASSERT_EQ(r.wrong_shape.size(), 1u);
  EXPECT_EQ(r.wrong_shape[0].name, name);
  EXPECT_EQ(r.wrong_shape[0].expected, (Shape{64, 32}));
  EXPECT_EQ(r.wrong_shape[0].actual, (Shape{32, 64}));
  EXPECT_EQ(r.num_problems(), 1u);
}

TEST_F(InventoryCheck, UnexpectedWrongDtypeAndIgnoredExtras) {
  const std::string bad_dtype = "language_model.model.norm.weight";
  const auto r = check(rewrite([&](auto& ts) {
    ts["language_model.model.layers.0.self_attn.q_proj.weight"] = Tensor::empty({64, 64}, DType::bf16);
    ts["vision_tower.vision_model.post_layernorm.weight"] = Tensor::empty({32}, DType::bf16);
    ts[bad_dtype] = Tensor::empty({64}, DType::i32);
  }));
  ASSERT_EQ(r.unexpected.size(), 1u);
  EXPECT_EQ(r.unexpected[0].name, "language_model.model.layers.0.self_attn.q_proj.weight");
  ASSERT_EQ(r.ignored.size(), 1u);
  EXPECT_EQ(r.ignored[0].name, "vision_tower.vision_model.post_layernorm.weight");
  ASSERT_EQ(r.wrong_dtype.size(), 1u);
  EXPECT_EQ(r.wrong_dtype[0].name, bad_dtype);
  EXPECT_EQ(r.by_dtype.at(DType::i32).tensors, 1);
  EXPECT_TRUE(r.missing.empty());
  EXPECT_TRUE(r.wrong_shape.empty());
}

TEST(MemoryPlan, ReleasedModelOnEightGpus) {
  const ModelConfig c = ModelConfig::released();
  const MemoryPlan one = plan_memory(c, {1, 1000, 1});
  EXPECT_EQ(one.kv_bytes_per_token, 40u * 1024u);                          // spec §6.8: 40 KiB/token
  EXPECT_EQ(one.lightning_bytes_per_sequence, 280u * 1024u * 1024u);       // 280 MiB/sequence
  EXPECT_EQ(one.devices[0].weights, static_cast<uint64_t>(count_params(c).total) * 2);
  EXPECT_EQ(one.devices[0].kv_cache, 1000u * 40u * 1024u);
  const MemoryPlan eight = plan_memory(c, {8, 8192, 2});
  EXPECT_EQ(eight.heads_per_device, 8);
  EXPECT_EQ(eight.kv_heads_per_device, 1);
  EXPECT_EQ(eight.experts_per_device, 4);
  EXPECT_EQ(eight.kv_bytes_per_token, 5u * 1024u);
  EXPECT_EQ(eight.lightning_bytes_per_sequence, 35u * 1024u * 1024u);
  ASSERT_EQ(eight.devices.size(), 8u);
  uint64_t sum = 0;
  for (const auto& d : eight.devices) {
    EXPECT_EQ(d.weights, eight.devices[0].weights);
    EXPECT_EQ(d.kv_cache, 2u * 8192u * 5u * 1024u);
    sum += d.weights;
  }
  // Replicated parts (norms, routers, vision, projector) are the only overhead over 1/8.
  const uint64_t total = one.devices[0].weights;
  EXPECT_GT(sum, total);
  EXPECT_LT(sum, total + (uint64_t{8} << 30));
  EXPECT_NEAR(static_cast<double>(eight.devices[0].weights) / (1u << 30), 106.9, 0.5);
  // More GPUs than KV heads: each GPU keeps one KV head (replicated).
  EXPECT_EQ(plan_memory(c, {16, 1, 1}).kv_heads_per_device, 1);
}

TEST(MemoryPlan, RejectsUnevenSplits) {
  try {
    plan_memory(ModelConfig::released(), {3, 1, 1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("use one of 1, 2, 4, 8, 16, 32"), std::string::npos) << e.what();
  }
  EXPECT_THROW(plan_memory(ModelConfig::released(), {0, 1, 1}), Error);
}

TEST(MemoryPlan, UsesCheckpointDtypes) {
  const ModelConfig c = ModelConfig::released();
  const auto base = plan_memory(c, {1, 0, 0});
  const auto f32 = plan_memory(c, {1, 0, 0}, {{"language_model.model.norm.weight", DType::f32}});
  EXPECT_EQ(f32.devices[0].weights - base.devices[0].weights, 6144u * 2u);
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(17), "17 B");
}

}  // namespace
}  // namespace mvl::engine
