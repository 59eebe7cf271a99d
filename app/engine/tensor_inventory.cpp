// Expected tensor names/shapes per layout (spec §1.2 released, §1.5 native), parameter
// counts and the checkpoint inventory check behind `minimax-vl info`.
#include "app/engine/tensor_inventory.h"

#include <algorithm>
#include <unordered_map>

#include "kernels/core/error.h"

namespace mvl::engine {

namespace {

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Tensors a checkpoint may carry that no loader needs: the CLIP post_layernorm (unused by
// feature_layer -1; native exports keep it), position_ids buffers, and the native
// lightning decay buffers (spec §1.5).
bool is_known_extra(const std::string& name) {
  static const char* kSuffixes[] = {"post_layernorm.weight", "post_layernorm.bias", "position_ids",
                                    "self_attn.slope_rate",  "self_attn.query_decay",
                                    "self_attn.key_decay",   "self_attn.diagonal_decay"};
  for (const char* s : kSuffixes)
    if (ends_with(name, s)) return true;
  return false;
}

bool loadable_dtype(DType t) { return t == DType::bf16 || t == DType::f16 || t == DType::f32; }

}  // namespace

const char* layout_name(CheckpointLayout l) { return l == CheckpointLayout::native ? "native" : "released"; }

std::vector<ExpectedTensor> expected_tensors(const ModelConfig& cfg, CheckpointLayout layout) {
  const auto& t = cfg.text;
  const auto& v = cfg.vision;
  const bool native = layout == CheckpointLayout::native;
  const int64_t H = t.hidden_size, dh = t.head_dim, nh = t.num_attention_heads, nkv = t.num_key_value_heads;
  const int64_t E = t.num_local_experts, I = t.intermediate_size, V = t.vocab_size;
  // Prefixes per spec §1.5.
  const std::string lm = native ? "model.language_model." : "language_model.model.";
  const std::string head = native ? "lm_head." : "language_model.lm_head.";
  const std::string vt = native ? "model.vision_tower." : "vision_tower.vision_model.";
  const std::string proj = native ? "model.multi_modal_projector." : "multi_modal_projector.";
  const std::string newline = native ? "model.image_newline" : "image_newline";

  std::vector<ExpectedTensor> r;
  auto add = [&r](std::string name, Shape shape, TensorRole role, int64_t layer = -1, int64_t expert = -1) {
    r.push_back({std::move(name), std::move(shape), role, layer, expert});
  };
  add(lm + "embed_tokens.weight", {V, H}, TensorRole::embedding);
  add(lm + "norm.weight", {H}, TensorRole::norm);
  if (!t.tie_word_embeddings) add(head + "weight", {V, H}, TensorRole::lm_head);
  if (cfg.has_vision) {
    const int64_t Hv = v.hidden_size, Iv = v.intermediate_size;
    add(vt + "embeddings.class_embedding", {Hv}, TensorRole::vision);
    add(vt + "embeddings.patch_embedding.weight", {Hv, v.num_channels, v.patch_size, v.patch_size},
        TensorRole::vision);
    add(vt + "embeddings.position_embedding.weight", {v.num_positions(), Hv}, TensorRole::vision);
    add(vt + "pre_layrnorm.weight", {Hv}, TensorRole::vision);
    add(vt + "pre_layrnorm.bias", {Hv}, TensorRole::vision);
    add(proj + "linear_1.weight", {H, Hv}, TensorRole::projector);
    add(proj + "linear_1.bias", {H}, TensorRole::projector);
    add(proj + "linear_2.weight", {H, H}, TensorRole::projector);
    add(proj + "linear_2.bias", {H}, TensorRole::projector);
    add(newline, {H}, TensorRole::projector);
    for (int64_t j = 0; j < v.num_hidden_layers; ++j) {
      const std::string p = vt + "encoder.layers." + std::to_string(j) + ".";
      for (const char* m : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
        add(p + "self_attn." + m + ".weight", {Hv, Hv}, TensorRole::vision);
        add(p + "self_attn." + m + ".bias", {Hv}, TensorRole::vision);
      }
      for (const char* n : {"layer_norm1", "layer_norm2"}) {
        add(p + n + ".weight", {Hv}, TensorRole::vision);
        add(p + n + ".bias", {Hv}, TensorRole::vision);
      }
      add(p + "mlp.fc1.weight", {Iv, Hv}, TensorRole::vision);
      add(p + "mlp.fc1.bias", {Iv}, TensorRole::vision);
      add(p + "mlp.fc2.weight", {Hv, Iv}, TensorRole::vision);
      add(p + "mlp.fc2.bias", {Hv}, TensorRole::vision);
    }
  }
  for (int64_t l = 0; l < t.num_hidden_layers; ++l) {
    const std::string p = lm + "layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {H}, TensorRole::norm, l);
    add(p + "post_attention_layernorm.weight", {H}, TensorRole::norm, l);
    if (t.is_softmax(l)) {
      add(p + "self_attn.q_proj.weight", {nh * dh, H}, TensorRole::attention, l);
      add(p + "self_attn.k_proj.weight", {nkv * dh, H}, TensorRole::attention, l);
      add(p + "self_attn.v_proj.weight", {nkv * dh, H}, TensorRole::attention, l);
      add(p + "self_attn.o_proj.weight", {H, nh * dh}, TensorRole::attention, l);
    } else {
      add(p + "self_attn.qkv_proj.weight", {3 * nh * dh, H}, TensorRole::attention, l);
      add(p + "self_attn.output_gate.weight", {nh * dh, H}, TensorRole::attention, l);
      add(p + "self_attn.out_proj.weight", {H, nh * dh}, TensorRole::attention, l);
      add(p + "self_attn.norm.weight", {nh * dh}, TensorRole::attention, l);
    }
    if (native) {
      add(p + "mlp.gate.weight", {E, H}, TensorRole::router, l);
      add(p + "mlp.experts.gate_up_proj", {E, 2 * I, H}, TensorRole::expert, l);
      add(p + "mlp.experts.down_proj", {E, H, I}, TensorRole::expert, l);
    } else {
      add(p + "block_sparse_moe.gate.weight", {E, H}, TensorRole::router, l);
      for (int64_t e = 0; e < E; ++e) {
        const std::string ep = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
        add(ep + "w1.weight", {I, H}, TensorRole::expert, l, e);
        add(ep + "w2.weight", {H, I}, TensorRole::expert, l, e);
        add(ep + "w3.weight", {I, H}, TensorRole::expert, l, e);
      }
    }
  }
  return r;
}

CheckpointLayout detect_layout(const std::vector<std::string>& names, CheckpointLayout fallback) {
  size_t released = 0, native = 0;
  for (const auto& n : names) {
    if (starts_with(n, "language_model.") || starts_with(n, "vision_tower.") ||
        starts_with(n, "multi_modal_projector.") || n == "image_newline")
      ++released;
    else if (starts_with(n, "model.") || starts_with(n, "lm_head."))
      ++native;
  }
  if (released == 0 && native == 0) return fallback;
  return released >= native ? CheckpointLayout::released : CheckpointLayout::native;
}

ParamCounts count_params(const ModelConfig& cfg) {
  ParamCounts c;
  int64_t attn_norm_router = 0;
  for (const auto& t : expected_tensors(cfg, CheckpointLayout::released)) {
    const int64_t n = shape_numel(t.shape);
    c.total += n;
    switch (t.role) {
      case TensorRole::vision: c.vision += n; break;
      case TensorRole::projector: c.projector += n; break;
      case TensorRole::embedding:
      case TensorRole::lm_head: c.embedding += n; c.text += n; break;
      case TensorRole::expert: c.experts += n; c.text += n; break;
      default: attn_norm_router += n; c.text += n; break;
    }
  }
  const auto& t = cfg.text;
  // Every token runs top_k of the E experts in each layer.
  c.active = attn_norm_router + c.experts / t.num_local_experts * t.num_experts_per_tok;
  c.active_with_embedding = c.active + c.embedding;
  return c;
}

InventoryReport check_inventory(const ModelConfig& cfg, const Checkpoint& ck) {
  InventoryReport r;
  const auto names = ck.names();
  r.layout = detect_layout(names, cfg.layout);
  const auto expected = expected_tensors(cfg, r.layout);
  r.expected = expected.size();
  r.found = names.size();
  std::unordered_map<std::string, const ExpectedTensor*> want;
  want.reserve(expected.size());
  for (const auto& e : expected) want.emplace(e.name, &e);
  for (const auto& n : names) {
    const TensorInfo& info = ck.info(n);
    auto& d = r.by_dtype[info.dtype];
    d.tensors += 1;
    d.bytes += info.end - info.begin;
    auto it = want.find(n);
    if (it == want.end()) {
      (is_known_extra(n) ? r.ignored : r.unexpected).push_back({n, info.dtype, info.shape});
      continue;
    }
    r.dtypes[n] = info.dtype;
    if (info.shape != it->second->shape) r.wrong_shape.push_back({n, it->second->shape, info.shape});
    if (!loadable_dtype(info.dtype)) r.wrong_dtype.push_back({n, info.dtype, info.shape});
  }
  for (const auto& e : expected)
    if (!ck.has(e.name)) r.missing.push_back(e);
  return r;
}

}  // namespace mvl::engine
