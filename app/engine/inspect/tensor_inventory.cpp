// The checkpoint inventory behind `minimax-vl info`: expected tensors per layout (spec §1.2
// released, §1.5 native) and parameter counts, both walks of the two halves' tensor tables
// (llm/weights/tensor_table.h, vision/model/tensor_table.h), and the check of a checkpoint.
#include "app/engine/inspect/tensor_inventory.h"

#include <algorithm>
#include <unordered_map>

#include "kernels/core/error.h"
#include "llm/weights/tensor_table.h"
#include "vision/model/tensor_table.h"

namespace mvl::engine {

namespace {

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

TensorRole tensor_role(llm::TextRole r) {
  switch (r) {
    case llm::TextRole::embedding:
      return TensorRole::embedding;
    case llm::TextRole::lm_head:
      return TensorRole::lm_head;
    case llm::TextRole::final_norm:
    case llm::TextRole::input_norm:
    case llm::TextRole::post_attention_norm:
      return TensorRole::norm;
    case llm::TextRole::router:
      return TensorRole::router;
    case llm::TextRole::expert_w1:
    case llm::TextRole::expert_w3:
    case llm::TextRole::expert_w2:
    case llm::TextRole::experts_w13:
    case llm::TextRole::experts_w2:
      return TensorRole::expert;
    default:
      return TensorRole::attention;  // projections and the lightning output norm
  }
}

}  // namespace

std::vector<ExpectedTensor> expected_tensors(const ModelConfig& cfg, CheckpointLayout layout) {
  // Text globals, then the vision half, then the text layers.
  std::vector<ExpectedTensor> r, layers;
  llm::for_each_text_tensor(cfg.text, text_naming(layout), [&](const llm::TextTensor& t) {
    (t.layer < 0 ? r : layers).push_back({t.name, t.shape, tensor_role(t.role), t.layer, t.expert});
  });
  if (cfg.has_vision)
    vision::for_each_vision_tensor(
        cfg.vision, vision_naming(layout), cfg.text.hidden_size,
        [&](const vision::VisionTensor& t) {
          r.push_back({t.name, t.shape,
                       vision::is_projector(t.role) ? TensorRole::projector : TensorRole::vision});
        });
  r.insert(r.end(), std::make_move_iterator(layers.begin()), std::make_move_iterator(layers.end()));
  return r;
}

ParamCounts count_params(const ModelConfig& cfg) {
  ParamCounts c;
  int64_t attn_norm_router = 0;
  llm::for_each_text_tensor(
      cfg.text, text_naming(CheckpointLayout::released), [&](const llm::TextTensor& t) {
        const int64_t n = shape_numel(t.shape);
        c.text += n;
        if (t.role == llm::TextRole::embedding || t.role == llm::TextRole::lm_head)
          c.embedding += n;
        else if (t.is_expert())
          c.experts += n;
        else
          attn_norm_router += n;
      });
  if (cfg.has_vision)
    vision::for_each_vision_tensor(cfg.vision, vision_naming(CheckpointLayout::released),
                                   cfg.text.hidden_size, [&](const vision::VisionTensor& t) {
                                     (vision::is_projector(t.role) ? c.projector : c.vision) +=
                                         shape_numel(t.shape);
                                   });
  c.total = c.text + c.vision + c.projector;
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
