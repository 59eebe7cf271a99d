// The narrow interfaces the engine drives a model through, so the session/request logic
// is independent of the concrete llm::/vision:: classes and testable with a fake model
// (app/engine/testing/fake_model.h). loading/checkpoint.cpp adapts the real classes to these.
// All methods run on the engine's worker thread unless marked thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/engine/core/chat_types.h"
#include "kernels/core/tensor.h"

namespace mvl::engine {

// Returns true when the running request should stop (checked between chunks/tiles).
using CancelCheck = std::function<bool()>;

// One run of prompt positions: token ids, or embedding rows that replace them (images).
struct Segment {
  std::vector<int32_t> ids;  // used when rows is undefined
  Tensor rows;               // f32 [n, hidden] image features, else undefined
  int64_t size() const { return rows.defined() ? rows.dim(0) : static_cast<int64_t>(ids.size()); }
  bool is_rows() const { return rows.defined(); }
};

// Opaque copy of a ModelState at a turn boundary (KV length + lightning states).
class StateSnapshot {
 public:
  virtual ~StateSnapshot() = default;
  virtual int64_t length() const = 0;
};

// Per-sequence model state (KV caches + lightning states). Lightning states cannot be
// truncated, so going back means restoring a snapshot taken at that position.
class ModelState {
 public:
  virtual ~ModelState() = default;
  virtual int64_t length() const = 0;  // positions consumed so far
  virtual std::unique_ptr<StateSnapshot> snapshot() const = 0;
  virtual void restore(const StateSnapshot& s) = 0;
  virtual void reset() = 0;            // back to length 0
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  virtual std::unique_ptr<ModelState> new_state() = 0;
  // Appends the segments to `state`; returns the logits f32 [vocab] of the last position.
  virtual std::vector<float> prefill(const std::vector<Segment>& segments, ModelState& state) = 0;
  // Appends one token; returns the logits f32 [vocab] of that position.
  virtual std::vector<float> decode(int32_t id, ModelState& state) = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t hidden_size() const = 0;
  virtual int64_t max_context() const = 0;  // the default context cap (EngineOptions can override)
};

// An image decoded and preprocessed (anyres tiles), ready for the vision tower.
// Subclasses carry the pixel tensors; the base carries what reports need.
struct PreparedImage {
  virtual ~PreparedImage() = default;
  std::string path;
  int64_t width = 0, height = 0;
  int64_t grid_rows = 0, grid_cols = 0;
  int64_t image_tokens = 0;
  double preprocess_ms = 0;
};

class VisionEncoder {
 public:
  virtual ~VisionEncoder() = default;
  // Decodes and preprocesses a file. Thread-safe (reads only config); throws Error for
  // unreadable/corrupt/oversized images so front ends can report bad input early.
  virtual std::shared_ptr<const PreparedImage> prepare(const std::string& path) const = 0;
  // f32 [image_tokens, text_hidden]: ViT + projector + packing. Returns an undefined
  // Tensor when `cancelled` fired between tiles.
  virtual Tensor encode(const PreparedImage& image, const CancelCheck& cancelled) = 0;
};

// Text <-> ids with the chat template. The template's own markers are special tokens;
// text typed by a user is encoded with special-token parsing OFF.
class PromptCodec {
 public:
  virtual ~PromptCodec() = default;
  // One complete message block (opening marker, content, closing marker) as pieces;
  // a piece with image_index >= 0 is the k-th image of the message (its `<image>` slot).
  struct Piece {
    std::vector<int32_t> ids;
    int image_index = -1;
  };
  virtual std::vector<Piece> encode_message(const Message& m) const = 0;
  // What follows the conversation to make the model answer (`...ai name=assistant\n`).
  virtual std::vector<int32_t> generation_prompt() const = 0;
  // What closes an assistant answer whose content ids are already in the state.
  virtual std::vector<int32_t> assistant_close() const = 0;
  virtual std::vector<int32_t> encode_text(const std::string& text) const = 0;  // no specials
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;        // skips specials
  virtual bool is_special(int32_t id) const = 0;
  virtual int32_t eos_id() const = 0;
  // An upper bound on the UTF-8 bytes one token covers (0 = unknown). Lets the engine refuse
  // a prompt that cannot fit the context before it tokenizes megabytes of text.
  virtual size_t max_bytes_per_token() const { return 0; }
  // Streaming detokenizer: push(id) returns the newly completed UTF-8 text.
  class Stream {
   public:
    virtual ~Stream() = default;
    virtual std::string push(int32_t id) = 0;
    virtual std::string flush() = 0;
  };
  virtual std::unique_ptr<Stream> stream() const = 0;
};

// What an opened checkpoint gives the engine.
struct ModelInfo {
  std::string dir;
  std::string layout;           // "released" | "native" | "fake"
  std::string backend;          // "cpu" | "cuda"
  std::string precision;        // text activations: "f32" | "bf16"
  int64_t num_layers = 0, hidden_size = 0, vocab_size = 0, max_context = 0;
  int64_t num_parameters = 0;
  bool has_vision = true;
  bool tiny_demo = false;       // the bundled random model: its answers are gibberish
};

struct LoadedModel {
  ModelInfo info;
  std::unique_ptr<PromptCodec> codec;
  std::unique_ptr<LanguageModel> lm;
  std::unique_ptr<VisionEncoder> vision;  // null for text-only checkpoints
};

}  // namespace mvl::engine
