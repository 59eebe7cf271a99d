// cuda::Graph: stream capture (thread-local mode), checks of the allocation rules through
// the StreamPool's capture bookkeeping, instantiation, upload and replay. Host-only code.
#include "kernels/cuda/graph.h"

#include <utility>

#include "kernels/cuda/check.cuh"

namespace mvl::cuda {

namespace {

double mib(int64_t b) {
  return static_cast<double>(b) / 1048576.0;
}

// Ends a capture whatever state it is in and drops the partial graph (never throws).
void abandon_capture(cudaStream_t s) {
  cudaGraph_t g = nullptr;
  cudaStreamEndCapture(s, &g);
  if (g) cudaGraphDestroy(g);
  cudaGetLastError();
}

}  // namespace

Graph::~Graph() {
  if (exec_) cudaGraphExecDestroy(exec_);  // deferred by the driver while a replay runs
}

Graph::Graph(Graph&& o) noexcept
    : streams_(std::move(o.streams_)),
      exec_(std::exchange(o.exec_, nullptr)),
      nodes_(std::exchange(o.nodes_, 0)) {}

Graph& Graph::operator=(Graph&& o) noexcept {
  if (this != &o) {
    if (exec_) cudaGraphExecDestroy(exec_);
    streams_ = std::move(o.streams_);
    exec_ = std::exchange(o.exec_, nullptr);
    nodes_ = std::exchange(o.nodes_, 0);
  }
  return *this;
}

Graph Graph::capture(const Context& ctx, const std::function<void()>& body) {
  StreamPool& sp = *ctx.stream_pool();
  cudaStream_t s = ctx.stream();
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  MVL_CUDA_CHECK(cudaStreamIsCapturing(s, &status));
  MVL_CHECK(status == cudaStreamCaptureStatusNone, invalid_argument,
            "cuda:{}: the stream is already being captured; graph captures cannot nest",
            ctx.device());
  cudaGetLastError();  // start clean, so an error seen after the capture is the body's
  sp.begin_capture();
  if (const cudaError_t e = cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal);
      e != cudaSuccess) {
    sp.end_capture();
    detail::throw_cuda(e, "cudaStreamBeginCapture(ctx.stream(), cudaStreamCaptureModeThreadLocal)",
                       __FILE__, __LINE__);
  }
  const std::string where = fmt::format(
      "capturing a CUDA graph on cuda:{} (only stream-ordered work on the context's stream may "
      "run inside: no host syncs or reads of device tensors, no cudaMalloc/cudaFree, no scratch "
      "growth)",
      ctx.device());
  try {
    body();
  } catch (Error& e) {
    abandon_capture(s);
    sp.end_capture();
    e.add_context(where);
    throw;
  } catch (...) {
    abandon_capture(s);
    sp.end_capture();
    throw;
  }

  cudaGraph_t g = nullptr;
  const cudaError_t end = cudaStreamEndCapture(s, &g);
  // An unchecked call that broke the capture left its error behind; name it if we can.
  const cudaError_t first = cudaGetLastError();
  const StreamPool::CaptureReport rep = sp.end_capture();
  if (end != cudaSuccess || g == nullptr) {
    if (g) cudaGraphDestroy(g);
    cudaGetLastError();
    throw_error(ErrorCategory::device,
                fmt::format("{}: the capture failed: cudaStreamEndCapture returned {} ({}); a "
                            "call inside the body was not capturable{}",
                            where, cudaGetErrorName(end), cudaGetErrorString(end),
                            first != cudaSuccess && first != end
                                ? fmt::format(" (first error recorded: {}: {})",
                                              cudaGetErrorName(first), cudaGetErrorString(first))
                                : std::string()));
  }
  if (rep.escaped != 0 || rep.foreign != 0) {
    cudaGraphDestroy(g);
    std::string why;
    if (rep.escaped != 0)
      why += fmt::format(
          "{} allocation(s) ({:.2f} MiB) made inside the body are still alive after it; a "
          "graph must free what it allocates: write results into tensors allocated before "
          "the capture (e.g. with ops::copy_into) and let temporaries die inside the body",
          rep.escaped, mib(rep.escaped_bytes));
    if (rep.foreign != 0)
      why += fmt::format(
          "{}{} tensor(s) ({:.2f} MiB) allocated before the capture were freed inside the "
          "body; the graph would keep using memory it does not own: keep every tensor the "
          "body reads or writes alive for the graph's whole life",
          why.empty() ? "" : "; ", rep.foreign, mib(rep.foreign_bytes));
    throw_error(ErrorCategory::invalid_argument, fmt::format("{}: {}", where, why));
  }

  size_t nodes = 0;
  cudaGraphGetNodes(g, nullptr, &nodes);
  cudaGraphExec_t exec = nullptr;
  const cudaError_t inst = cudaGraphInstantiate(&exec, g, 0);
  cudaGraphDestroy(g);  // the executable graph is independent of its template
  if (inst != cudaSuccess)
    detail::throw_cuda(inst, "cudaGraphInstantiate(&exec, graph, 0)", __FILE__, __LINE__);
  Graph out;
  out.streams_ = ctx.stream_pool();
  out.exec_ = exec;
  out.nodes_ = nodes;
  // Uploading now moves the one-time setup (incl. graph memory) off the first replay.
  MVL_CUDA_CHECK(cudaGraphUpload(exec, s));
  return out;
}

void Graph::launch() const {
  MVL_CHECK(exec_ != nullptr, invalid_argument,
            "launch of an empty CUDA graph (capture one first)");
  MVL_CUDA_CHECK(cudaGraphLaunch(exec_, streams_->stream()));
}

}  // namespace mvl::cuda
