// ops::CudaGraph: capture a piece of device work (e.g. one decode step) once and replay it
// with one launch, without CUDA types, so llm/ can use it. The body runs once during
// capture with nothing executing; every replay re-runs the captured GPU work only (no host
// code). Rules (docs/memory_plan.md): the body only calls ops on tensors of this
// DeviceContext; no host syncs or host reads of device tensors inside; temporaries it
// allocates must die inside it (outputs go into tensors allocated before the capture, e.g.
// with ops::copy_into or ops::write_rows_at); every tensor it touches that was allocated
// before the capture must stay alive while the graph is used; values that change between
// replays (the decode position) are read from device memory (kernels/ops/positions.h);
// scratch is reserved beforehand (run the body once eagerly first, or reserve_scratch).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "kernels/ops/device.h"

namespace mvl::ops {

class CudaGraph {
 public:
  CudaGraph() = default;  // empty: valid() is false
  // Captures body on dev's stream. Throws Error{unsupported} for a CPU DeviceContext (or a
  // CPU-only build), the errors of cuda::Graph::capture otherwise (the stream stays usable).
  static CudaGraph capture(const DeviceContext& dev, const std::function<void()>& body);
  // One asynchronous replay on dev's stream. Throws Error{invalid_argument} when empty.
  void launch() const;
  bool valid() const;
  // True when the context's scratch arena has moved since the capture (an op outside the
  // graph grew it, freeing the buffer the captured kernels point into): the graph must be
  // captured again before its next launch, which refuses it (Error{invalid_argument}).
  bool stale() const;
  size_t node_count() const;  // 0 when empty

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;  // copies share one executable graph
};

}  // namespace mvl::ops
