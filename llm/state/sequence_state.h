// SequenceState: everything one sequence carries between forward calls. Per softmax layer
// a KV cache (K stored after RoPE), per lightning layer the f32 state [nh, dh, dh], and the
// position counter (= tokens consumed). Copying is explicit: clone() deep-copies;
// snapshot()/restore() rewind a conversation (truncate KV + restore the lightning states).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/core/tensor.h"
#include "kernels/ops/device.h"
#include "llm/config/text_config.h"

namespace mvl::llm {

// Rows [0, length) are valid; capacity = k.dim(0) >= length. Sized ahead by reserve_kv (the
// prompt, or prompt + answer budget, known before it runs); growing past the capacity
// reallocates by doubling and copies the valid rows (a fallback, counted in KvStats).
struct KvCache {
  Tensor k;  // f32|bf16 (the activation dtype) [capacity, nkv, dh], post-RoPE keys
  Tensor v;  // f32|bf16 [capacity, nkv, dh]
  int64_t length = 0;
};

// How the KV caches were sized: allocations made, and how many of them had to copy rows
// already written (each copy moves the whole cache: what reserving ahead avoids).
struct KvStats {
  int64_t capacity = 0;       // rows per softmax layer now (0 without softmax layers)
  int64_t allocations = 0;    // per softmax layer: buffers allocated (reserves and growths)
  int64_t copies = 0;         // per softmax layer: allocations that copied valid rows
  uint64_t copied_bytes = 0;  // all layers, K and V: bytes those copies moved
};

class SequenceState {
 public:
  // A lightning state holds the fp32 [nh, dh, dh] matrices, zero at the start.
  struct Snapshot {
    int64_t position = 0;
    std::vector<Tensor> lightning;  // f32 [nh, dh, dh] per lightning layer (deep copies)
    std::shared_ptr<const int> lineage;  // which sequence (and its clones) it belongs to
    uint64_t epoch = 0;                  // which history line of that sequence
  };

  SequenceState() = default;
  // Empty state (position 0) for the model described by cfg, on dev's device (the model's
  // DeviceContext: its tensors then run on the model's stream). kv_dtype: the KV caches'
  // dtype = the model's activation dtype (lightning states are f32 always).
  explicit SequenceState(const TextConfig& cfg, const ops::DeviceContext& dev = {}, DType kv_dtype = DType::f32);
  Device device() const { return dev_.device(); }
  SequenceState(SequenceState&&) noexcept = default;
  SequenceState& operator=(SequenceState&&) noexcept = default;
  SequenceState(const SequenceState&) = delete;  // use clone(): a copy is 4 MiB/layer on the real model
  SequenceState& operator=(const SequenceState&) = delete;

  int64_t position() const { return position_; }
  SequenceState clone() const;  // independent deep copy

  // snapshot() copies the lightning states (the KV caches only need the position).
  // restore(s) rewinds to s.position. Valid for snapshots of this state, or of a state it
  // was cloned from (taken at or before the clone's position), as long as the history up
  // to s.position has not been rewritten since: restoring to position p and consuming new
  // tokens invalidates snapshots taken after p. Throws Error{invalid_argument} otherwise.
  Snapshot snapshot() const;
  void restore(const Snapshot& s);

  // For the layers (indices are global layer indices).
  Tensor& lightning_state(int64_t layer);  // f32 [nh, dh, dh], updated in place
  KvCache& kv_cache(int64_t layer);
  // Appends n rows of post-RoPE k and v ([n, nkv, dh], the cache's dtype) to layer's cache at
  // rows [position, position + n), growing it first when needed. The destination row is read
  // from position_tensor() (device memory on a GPU), so a captured decode step appends at the
  // position current at each replay.
  void append_kv(int64_t layer, const Tensor& k, const Tensor& v);
  // position_ += n, on the host and in position_tensor().
  void advance(int64_t n);

  // The position as i32 [1] on the state's device (host memory on the CPU); kept equal to
  // position(). Ops that must not read the host position (a CUDA-graph decode step) use it.
  const Tensor& position_tensor() const { return position_dev_; }
  // i32 [n] on the state's device: position() + i, computed on the device from position_tensor().
  Tensor positions(int64_t n) const;
  // i32 [1] on the state's device: position() + n (the KV length once n tokens are appended).
  Tensor length_after(int64_t n) const;

  // Sizes every KV cache to hold `tokens` rows in all (exactly that, so a caller that knows
  // prompt + max new tokens reserves once and nothing is copied later); a no-op when they fit.
  // Reserving on an empty cache allocates only; on a filled one it copies (counted).
  void reserve_kv(int64_t tokens);
  // Room for `tokens` rows, growing by doubling when short (the fallback for a step past the
  // reservation; the decode graph calls it before capturing so no cache grows inside).
  void ensure_kv(int64_t tokens);
  KvStats kv_stats() const;
  // Graph support (llm/model/decode_graph.cpp): the addresses of every buffer a captured step
  // touches (they change when a cache is reallocated).
  std::vector<const void*> buffer_key() const;
  // Host-side counters only (position_ and each cache's length): for the graph runner, whose
  // replays advance position_tensor() on the device while the host code ran once at capture.
  void set_host_position(int64_t position);
  // An opaque per-state slot for the model's captured decode step (dropped by clone()).
  std::shared_ptr<void>& decode_graph_slot() { return decode_graph_; }

 private:
  int64_t slot(int64_t layer, AttnKind kind) const;

  ops::DeviceContext dev_;
  std::vector<AttnKind> kinds_;
  std::vector<int64_t> slot_;        // global layer -> index into lightning_ or kv_
  std::vector<Tensor> lightning_;
  std::vector<KvCache> kv_;
  int64_t nkv_ = 0, dh_ = 0;
  DType kv_dtype_ = DType::f32;
  int64_t position_ = 0;
  Tensor position_dev_;  // i32 [1] == position_, on the state's device
  std::shared_ptr<void> decode_graph_;
  void resize_kv(KvCache& c, int64_t capacity);
  // Room for `rows` rows, growing by doubling (at least 64) when there is not: the fallback
  // when nothing was reserved.
  void grow_kv(KvCache& c, int64_t rows);
  int64_t kv_allocations_ = 0, kv_copies_ = 0;  // summed over the softmax layers
  uint64_t kv_copied_bytes_ = 0;
  // Snapshot validity bookkeeping. Each state has its own identity tag; a clone records
  // its ancestors (their tag, how far their history reached, their rewinds) so snapshots
  // taken before the clone stay restorable in it.
  struct Ancestor {
    std::shared_ptr<const int> lineage;
    uint64_t epoch_end = 0;            // the ancestor's epoch when the clone was made
    int64_t limit = 0;                 // the ancestor's position when the clone was made
    std::vector<int64_t> rewound_to;   // the ancestor's rewinds up to the clone
  };
  void check_restorable(const Snapshot& s) const;
  std::shared_ptr<const int> lineage_;
  std::vector<Ancestor> ancestors_;    // oldest first
  uint64_t epoch_ = 0;
  std::vector<int64_t> rewound_to_;  // rewound_to_[e]: the position epoch e was cut back to
};

}  // namespace mvl::llm
