// The tensor inventory of a MiniMax-VL-01 checkpoint: every expected tensor name and shape
// for a ModelConfig in the released layout (spec §1.2, 8,637 keys at the released config)
// or the transformers-native layout (spec §1.5, fused experts, 1,117 keys), parameter
// counts, and the check of a real Checkpoint against that list (what `info` prints). Names
// and shapes come from the two halves' tensor tables; this file only groups their roles.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "app/engine/loading/checkpoint_layout.h"
#include "app/engine/loading/model_config.h"
#include "kernels/core/safetensors.h"

namespace mvl::engine {

// Which part of the model a tensor belongs to, coarser than the tables' roles (for `info`).
enum class TensorRole {
  embedding,   // embed_tokens  [vocab, hidden]
  lm_head,     // lm_head       [vocab, hidden]
  attention,   // per-head-sharded attention matrices and the lightning output norm
  expert,      // expert FFN weights (released: per expert; native: fused over experts)
  router,      // block_sparse_moe.gate / mlp.gate  [experts, hidden]
  norm,        // text RMSNorm weights (replicated)
  vision,      // CLIP tower
  projector,   // multi_modal_projector.* and image_newline
};

struct ExpectedTensor {
  std::string name;
  Shape shape;
  TensorRole role = TensorRole::norm;
  int64_t layer = -1;   // text layer index, or -1
  int64_t expert = -1;  // expert index for per-expert tensors (released), else -1
};

// All tensors a checkpoint of this config must hold, in a stable order (globals, vision
// layers, text layers), with the checkpoint's own names.
std::vector<ExpectedTensor> expected_tensors(const ModelConfig& cfg, CheckpointLayout layout);

struct ParamCounts {
  int64_t total = 0;
  int64_t text = 0;         // language model incl. embedding and LM head
  int64_t vision = 0;
  int64_t projector = 0;    // incl. image_newline
  int64_t embedding = 0;    // embed_tokens + lm_head
  int64_t experts = 0;      // all expert weights
  // Parameters one text token touches, excluding embedding and LM head (the model card's
  // "45.9B activated"): attention + norms + router + top_k of the experts.
  int64_t active = 0;
  int64_t active_with_embedding = 0;  // active + embed_tokens + lm_head
};
ParamCounts count_params(const ModelConfig& cfg);

// The result of comparing a checkpoint with the expected inventory.
struct InventoryReport {
  struct Found {
    std::string name;
    DType dtype;
    Shape shape;
  };
  struct WrongShape {
    std::string name;
    Shape expected, actual;
  };
  struct DTypeBytes {
    int64_t tensors = 0;
    uint64_t bytes = 0;
  };
  CheckpointLayout layout = CheckpointLayout::released;
  size_t expected = 0;                    // tensors the config asks for
  size_t found = 0;                       // tensors in the checkpoint
  std::vector<ExpectedTensor> missing;    // expected, absent
  std::vector<Found> unexpected;          // present, not expected, not a known extra
  std::vector<Found> ignored;             // known harmless extras (unused post_layernorm, buffers)
  std::vector<WrongShape> wrong_shape;
  std::vector<Found> wrong_dtype;         // not a float dtype the loader converts (bf16/f16/f32)
  std::map<DType, DTypeBytes> by_dtype;   // over all tensors in the checkpoint
  std::map<std::string, DType> dtypes;    // name -> dtype of every expected tensor found

  bool ok() const { return missing.empty() && unexpected.empty() && wrong_shape.empty() && wrong_dtype.empty(); }
  size_t num_problems() const { return missing.size() + unexpected.size() + wrong_shape.size() + wrong_dtype.size(); }
};

// Compares `ck` with expected_tensors(cfg, layout detected from ck's names).
InventoryReport check_inventory(const ModelConfig& cfg, const Checkpoint& ck);

}  // namespace mvl::engine
