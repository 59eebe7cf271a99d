// The per-sequence cache behind TextModel's CUDA-graph decode (decode_graph.cpp): the
// captured step, its input/output buffers and the addresses it was captured against.
// A SequenceState holds one in its opaque decode_graph_slot(); clone() drops it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/core/tensor.h"
#include "kernels/ops/graph.h"

namespace mvl::llm {

struct DecodeGraphStats {
  int64_t eager_steps = 0;  // steps run op by op (warm-up, after a failed capture, or graphs off)
  int64_t captures = 0;     // captures made (one per sequence, plus one per KV-cache growth
                            // or scratch-arena move)
  int64_t replays = 0;      // steps run as one graph launch
  int64_t scratch_recaptures = 0;  // captures redone because the scratch arena had moved
  std::string disabled;     // why graphs are off for this sequence ("" while they are on)
};

// A captured batched step (TextModel::decode_batch), kept in the first sequence's slot: replayed
// while the same sequences step together in the same order with the same buffers (the key),
// captured again when that changes once it has held for two steps in a row.
struct BatchGraphCache {
  ops::CudaGraph graph;
  Tensor tokens;                // i32 [B] on the device: the graph's input
  Tensor logits;                // f32 [B, vocab]: its output
  Tensor table;                 // i32 [3, B]: the step's positions / lengths / split counts
  Tensor ptrs;                  // i64 [rows, B]: the states' and caches' addresses
  std::vector<int64_t> key;     // mode, every state's buffer_key(), the split counts
  std::vector<int64_t> last_key;  // the previous step's key (capture once it repeats)
  DecodeGraphStats stats;
};

struct DecodeGraphCache {
  ops::CudaGraph graph;
  Tensor token;                 // i32 [1] on the device: the graph's input
  Tensor logits;                // f32 [vocab] on the device: the graph's output
  std::vector<const void*> key;  // SequenceState::buffer_key() at capture
  bool warm = false;            // one eager step ran (cuBLASLt plans and scratch sizes are settled)
  DecodeGraphStats stats;
  BatchGraphCache batch;        // this sequence's batched steps when it comes first in them
};

}  // namespace mvl::llm
