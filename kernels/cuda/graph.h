// cuda::Graph: a CUDA graph captured from a Context's stream, instantiated once and replayed
// with launch(). Plain C++ header (no CUDA types), wrapped for llm/ by ops::CudaGraph
// (kernels/ops/graph.h). The capture rules are in docs/memory_plan.md; in short: the body
// only enqueues stream-ordered work on ctx.stream(); whatever it allocates it frees before
// returning (outputs go into tensors allocated before the capture); tensors allocated
// before the capture stay alive as long as the graph; the scratch arena is reserved first.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "kernels/cuda/context.h"

struct CUgraphExec_st;  // = cudaGraphExec_t's pointee

namespace mvl::cuda {

class Graph {
 public:
  Graph() = default;  // empty: valid() is false
  ~Graph();
  Graph(Graph&& o) noexcept;
  Graph& operator=(Graph&& o) noexcept;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Runs body() once with ctx.stream() in capture mode (cudaStreamCaptureModeThreadLocal:
  // a host sync, cudaMalloc or cudaFree on this thread fails the capture), then
  // instantiates and uploads the graph. Nothing runs on the GPU during the capture.
  // Throws, with the stream usable again afterwards:
  //  - the body's own Error, with a context line, when a call inside it fails (e.g. a
  //    CUDA call not allowed during capture names itself: 'cudaStreamSynchronize(...)');
  //  - Error{device} when the capture was invalidated by an unchecked call;
  //  - Error{invalid_argument} when allocations made in the body are still alive at its
  //    end, when tensors allocated before the capture were freed inside it, or when a
  //    capture is already in progress on the stream.
  static Graph capture(const Context& ctx, const std::function<void()>& body);

  // Enqueues one replay on the captured stream (asynchronous). Throws Error{invalid_argument}
  // on an empty Graph, Error{device} if the launch fails.
  void launch() const;
  bool valid() const { return exec_ != nullptr; }
  size_t node_count() const { return nodes_; }  // nodes in the captured graph

 private:
  std::shared_ptr<StreamPool> streams_;  // keeps the stream alive for launch()
  CUgraphExec_st* exec_ = nullptr;
  size_t nodes_ = 0;
};

}  // namespace mvl::cuda
