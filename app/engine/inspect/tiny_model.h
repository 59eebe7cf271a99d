// A tiny, randomly initialised MiniMax-VL-01 checkpoint with the released tensor names
// (or the native ones), for tests, demos and the bundled assets/models/tiny-random. Weights
// come from a local splitmix64 + Box-Muller generator seeded per tensor name, so the bytes
// are identical on every platform and independent of write order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/engine/loading/model_config.h"

namespace mvl::engine {

// splitmix64 stream with Box-Muller normals; no std::*_distribution (their output is
// implementation-defined, which would make the asset differ between standard libraries).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform();  // in (0, 1]
  double normal();   // standard normal

 private:
  uint64_t state_;
  bool have_spare_ = false;
  double spare_ = 0.0;
};

// What the tokenizer file says the tiny model must agree with.
struct TokenizerFacts {
  int64_t num_tokens = 0;  // max id + 1 over model.vocab and added_tokens
  int64_t image_token = -1;  // id of "<image>"
  int64_t eos_token = -1;    // id of "<end_of_sentence>"
  int64_t bos_token = -1;    // id of "<beginning_of_sentence>", -1 if absent
  int64_t unk_token = -1;    // id of "<end_of_document>", -1 if absent
};
// Reads a tokenizer.json; throws Error naming the file if <image> or <end_of_sentence> is missing.
TokenizerFacts read_tokenizer_facts(const std::string& tokenizer_json_path);

// The tiny architecture: text hidden 64, 4 layers [lightning x3, softmax], 4 heads (2 KV) of
// 16, rotary 8, 4 experts top-2 of width 96; CLIP hidden 32, 2 layers, 2 heads, FFN 64, 336 px
// / patch 14 (the processor's fixed tile). vocab_size = num_tokens rounded up to 64.
ModelConfig tiny_config(const TokenizerFacts& tok);

struct TinyModelOptions {
  std::string out_dir;
  std::string tokenizer_path;  // tokenizer.json to copy
  uint64_t seed = 0;
  CheckpointLayout layout = CheckpointLayout::released;
  bool sharded = true;         // 2 shards + model.safetensors.index.json, else model.safetensors
};

// Writes config.json, preprocessor_config.json, generation_config.json, tokenizer.json,
// tokenizer_config.json and the weights into out_dir (created if needed). Returns the
// names of the files written, sorted.
std::vector<std::string> write_tiny_model(const TinyModelOptions& opt);

// The chat template written into tokenizer_config.json (spec §7.3 rules, our own wording).
std::string minimax_vl_chat_template();

}  // namespace mvl::engine
