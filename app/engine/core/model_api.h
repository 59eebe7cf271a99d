// The narrow interfaces the engine drives a model through, so the session/request logic
// is independent of the concrete llm::/vision:: classes and testable with a fake model
// (app/engine/testing/fake_model.h). loading/checkpoint.cpp adapts the real classes to these.
// All methods run on the engine's worker thread unless marked thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/engine/core/chat_types.h"
#include "app/engine/loading/tile_map.h"
#include "kernels/core/tensor.h"

namespace mvl::engine {

// llm::BatchAttention, seen from the engine (model_api.h does not include llm/).
enum class BatchDecodeMode { per_sequence, batched, batched_fill };

// Returns true when the running request should stop (checked between chunks/tiles).
using CancelCheck = std::function<bool()>;

// One run of prompt positions: token ids, or embedding rows that replace them (images).
struct Segment {
  std::vector<int32_t> ids;  // used when rows is undefined
  Tensor rows;               // [n, hidden] image features at the text model's activation dtype
                             // on its device (f32 on the CPU), else undefined
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
  // Room for `positions` in total, so decoding up to there never regrows a cache (a regrowth
  // re-captures a CUDA decode graph); a no-op where nothing is preallocated.
  virtual void reserve(int64_t positions) {}
  // One line on how decode steps ran (e.g. CUDA graph replays), for benchmarks; may be empty.
  virtual std::string decode_report() const { return {}; }
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  virtual std::unique_ptr<ModelState> new_state() = 0;
  // Logits stay where the model runs: f32|bf16 tensors on its device (the sampler runs there
  // too; only the chosen id reaches the host).
  // Appends the segments to `state`; returns the logits [vocab] of the last position, or with
  // all_positions the logits [positions, vocab] of every one.
  virtual Tensor prefill(const std::vector<Segment>& segments, ModelState& state,
                         bool all_positions = false) = 0;
  // Appends one token; returns the logits [vocab] of that position.
  virtual Tensor decode(int32_t id, ModelState& state) = 0;
  // The same with the token as i32 [1] where the model runs (the sampler's output), so a
  // device model can queue the step before the host has read the id. The default reads the
  // id to the host and calls decode(id, state).
  virtual Tensor decode_device(const Tensor& id, ModelState& state);
  // True when decode() only queues the step (a GPU model): the decode loop then queues the
  // next step from the device-side id before the host reads it (app/engine/core/decode_loop.h).
  virtual bool asynchronous() const { return false; }
  // One token for each of several distinct states in one step (continuous batching); returns
  // each one's logits [vocab], in order. The default decodes them one by one; the real model
  // runs llm::TextModel::decode_batch (a captured CUDA graph once the same sequences step
  // together twice, while decode graphs are on; the StepScheduler's baton keeps every other
  // thread off the device meanwhile).
  virtual std::vector<Tensor> decode_batch(const std::vector<int32_t>& ids,
                                           const std::vector<ModelState*>& states) {
    std::vector<Tensor> out;
    for (size_t i = 0; i < ids.size(); ++i) out.push_back(decode(ids[i], *states[i]));
    return out;
  }
  // CUDA-graph decode on (default) or op by op, for benchmarks that time both; a no-op for
  // models without graphs.
  virtual void set_decode_graphs(bool on) {}
  // How decode_batch runs the attention's per-sequence work (llm::BatchAttention: one batched
  // op per layer, or one call per sequence), for benchmarks that time both; a no-op for models
  // without it. Call only while no decode step runs.
  virtual void set_batch_decode_mode(BatchDecodeMode mode) { (void)mode; }
  // Positions per pass through the layers inside one prefill() (EngineOptions::prefill_ubatch;
  // <= 0: one pass); a no-op for models that do not chunk (fakes).
  virtual void set_prefill_ubatch(int64_t positions) { (void)positions; }
  // Whether another request is in the engine now (ScheduledLm): a prefill then yields every
  // EngineOptions::prefill_chunk positions so the others' steps interleave; alone, it runs in
  // prefill_ubatch passes (RequestRunner::feed).
  virtual bool shared() const { return false; }
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
  double preprocess_ms = 0;  // decode + resize + normalise
  double decode_ms = 0;      // of which reading and decoding the file (PNG/JPEG bytes -> pixels)
};

// The two halves of an encode timed apart (VisionEncoder::encode_staged), each waited for on
// the device: the ViT (pixels -> selected features), then the projector + packing (unpad,
// image_newline) into the rows handed to prefill.
struct EncodeStages {
  double vit_ms = 0;
  double project_ms = 0;
};

class VisionEncoder {
 public:
  virtual ~VisionEncoder() = default;
  // Decodes and preprocesses a file. Thread-safe (reads only config); throws Error for
  // unreadable/corrupt/oversized images so front ends can report bad input early.
  virtual std::shared_ptr<const PreparedImage> prepare(const std::string& path) const = 0;
  // [image_tokens, text_hidden] on the model's device at the text model's activation dtype
  // (Segment::rows): ViT + projector + packing. Returns an undefined Tensor when `cancelled`
  // fired between tiles.
  virtual Tensor encode(const PreparedImage& image, const CancelCheck& cancelled) = 0;
  // encode() with its stages timed apart, for benchmarks (RawPrompt::time_stages): the same
  // rows, with a device wait between the ViT and the projector. The default counts the whole
  // encode() as the ViT (encoders without stages, fakes).
  virtual Tensor encode_staged(const PreparedImage& image, const CancelCheck& cancelled, EncodeStages& t);
  // The tile map (loading/tile_map.h) of a width x height image under this encoder's
  // processor settings and token budget. Throws Error{unsupported} where unknown (fakes).
  virtual TileMap tile_map(int64_t width, int64_t height) const;
  // The per-image token budget for later prepare() calls (0: none). Thread-safe.
  virtual void set_max_image_tokens(int64_t n) { (void)n; }
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
  // Raw text with special tokens parsed (`generate -p`: the prompt is the whole sequence).
  virtual std::vector<int32_t> encode_raw(const std::string& text) const = 0;
  // Ids the tokenizer knows are [0, vocab_size()); the model's vocabulary may be larger
  // (padding rows), and those ids are never sampled.
  virtual int64_t vocab_size() const = 0;
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
  uint64_t weight_bytes = 0;    // the checkpoint's tensor bytes
  std::string weight_dtype;     // the checkpoint's main weight dtype by bytes ("bf16", ...)
  bool has_vision = true;
  bool has_tokenizer = true;    // false: a checkpoint without tokenizer.json (raw ids only)
  std::optional<int32_t> eos_token_id;  // config.json's, for raw requests
  int64_t image_token_id = -1;  // config.json's image_token_index: an image slot in raw ids
  bool tiny_demo = false;       // the bundled random model: its answers are gibberish
};

struct LoadedModel {
  ModelInfo info;
  std::unique_ptr<PromptCodec> codec;     // null without tokenizer.json (raw ids only)
  std::unique_ptr<LanguageModel> lm;
  std::unique_ptr<VisionEncoder> vision;  // null for text-only checkpoints
};

}  // namespace mvl::engine
