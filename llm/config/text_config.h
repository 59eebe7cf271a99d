// TextConfig: the MiniMax-Text-01 architecture as one validated struct, parsed from
// either the released legacy `text_config` (attn_type_list, layernorm_*_alpha/beta,
// rotary_dim, ...) or the transformers-native layout (layer_types, rope_parameters,
// *_alpha_factor). Spec §2.2 and §2.5 give every key and the mapping.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernels/core/json.h"

namespace mvl::llm {

enum class AttnKind { lightning, softmax };  // legacy attn_type_list 0 / 1

// Which schema the text_config came from (decides key names in errors and on write).
enum class TextConfigLayout { legacy, native };

struct TextConfig {
  int64_t vocab_size = 200064;
  int64_t hidden_size = 6144;               // d_model
  int64_t num_hidden_layers = 80;
  int64_t num_attention_heads = 64;         // both attention kinds
  int64_t num_key_value_heads = 8;          // softmax layers only
  int64_t head_dim = 128;
  int64_t rotary_dim = 64;                  // RoPE on dims [0, rotary_dim) of each head
  double rope_theta = 10000000.0;
  int64_t max_position_embeddings = 8192;
  int64_t intermediate_size = 9216;         // per expert
  int64_t num_local_experts = 32;
  int64_t num_experts_per_tok = 2;
  double rms_norm_eps = 1e-5;               // decoder and final norms
  double lightning_norm_eps = 1e-6;         // the lightning output RMSNorm (spec §9.5)
  int64_t block_size = 256;                 // lightning block; legacy hard-codes 256
  std::string hidden_act = "silu";
  std::vector<AttnKind> layer_types;        // size num_hidden_layers
  // Postnorm residual factors (spec §6.3): residual = alpha * normed, branch * beta.
  double full_attn_alpha = 3.5565588200778455, full_attn_beta = 1.0;
  double linear_attn_alpha = 3.5565588200778455, linear_attn_beta = 1.0;
  double mlp_alpha = 3.5565588200778455, mlp_beta = 1.0;
  bool postnorm = true;
  bool tie_word_embeddings = false;
  std::optional<int64_t> bos_token_id, eos_token_id;
  int64_t shared_intermediate_size = 0;     // legacy shared expert width; must be 0
  TextConfigLayout layout = TextConfigLayout::legacy;
  std::string model_type = "minimax_text_01";  // as read ("minimax" in the native layout)

  // Parses either layout (detected by attn_type_list vs layer_types). `what` names the
  // source in errors, e.g. "'dir/config.json' text_config". Validates before returning.
  static TextConfig from_json(const json::Json& j, const std::string& what);
  // Throws Error{bad_format} with a readable reason, e.g.
  // "attn_type_list has 79 entries but num_hidden_layers is 80".
  void validate(const std::string& what) const;
  // The released MiniMax-Text-01 values (spec §2.2), layer_types filled in.
  static TextConfig released();

  bool is_softmax(int64_t layer) const { return layer_types.at(layer) == AttnKind::softmax; }
  int64_t num_softmax_layers() const;
  int64_t num_lightning_layers() const { return num_hidden_layers - num_softmax_layers(); }
};

}  // namespace mvl::llm
