// cuda::Context: the explicit per-device object every CUDA op takes (no globals).
// It owns (through a shared StreamPool) one stream and one stream-ordered memory pool,
// plus a cuBLASLt handle, a GEMM workspace, a scratch arena and a cache of GEMM algorithm
// choices. Ops enqueue on ctx.stream() and never synchronise the host, except the
// documented ones (to_host, MoE prefill's expert counts). Not thread-safe: one Context per
// worker thread/stream. Plain C++ header: no CUDA types leak out. Rules: docs/memory_plan.md.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

struct CUstream_st;         // = cudaStream_t's pointee; forward-declared so no CUDA header leaks
struct CUmemPoolHandle_st;  // = cudaMemPool_t's pointee

namespace mvl::cuda {

// Byte counters of a memory pool (cudaMemPoolGetAttribute): `reserved` is what the pool
// holds from the driver, `used` what live allocations use; *_high are the high watermarks.
struct PoolStats {
  uint64_t reserved = 0, reserved_high = 0, used = 0, used_high = 0;
};

// The stream and the stream-ordered memory pool of one Context. Every CudaStorage allocated
// for the context holds it (shared_ptr), so a tensor that outlives its Context still frees
// into a live stream. The pool's release threshold is "never": freed memory stays cached
// in the pool, so a steady-state decode loop makes no driver allocation and no host sync.
// It also does the bookkeeping of a graph capture on the stream (cuda::Graph, graph.h):
// allocations made inside a capture become graph memory nodes and must be freed inside it;
// storage allocated before the capture but freed inside it is deferred (and reported).
// Thread-safe (a tensor may be dropped on another thread).
class StreamPool {
 public:
  // Creates a non-blocking stream and a device-local pool on `device` (current device set).
  explicit StreamPool(int device);
  ~StreamPool();
  StreamPool(const StreamPool&) = delete;
  StreamPool& operator=(const StreamPool&) = delete;

  int device() const { return device_; }
  CUstream_st* stream() const { return stream_; }
  CUmemPoolHandle_st* pool() const { return pool_; }

  // cudaMallocFromPoolAsync of `bytes` (> 0) on stream(). Sets *epoch to the capture the
  // allocation belongs to (0 outside a capture). On failure throws Error{out_of_memory}
  // naming the byte count (after one retry that synchronises and trims the pool), or
  // Error{device} for other CUDA errors.
  void* allocate(size_t bytes, uint64_t* epoch);
  // Stream-ordered free of an allocate() result (cudaFreeAsync on stream()). Never throws.
  void release(void* p, size_t bytes, uint64_t epoch) noexcept;

  // Graph-capture bookkeeping (used by cuda::Graph; at most one capture at a time).
  struct CaptureReport {
    int64_t escaped = 0, escaped_bytes = 0;  // allocated inside, still alive at the end
    int64_t foreign = 0, foreign_bytes = 0;  // allocated before, freed inside (deferred)
  };
  // Throws Error{invalid_argument} if a capture is already in progress.
  void begin_capture();
  // Ends the bookkeeping and enqueues the deferred frees (the stream must no longer be
  // capturing). Never throws.
  CaptureReport end_capture() noexcept;
  bool capturing() const { return epoch_.load() != 0; }

  PoolStats stats() const;
  // Returns cached, unused pool memory to the driver down to `keep_bytes` (cudaMemPoolTrimTo).
  void trim(size_t keep_bytes) const;

 private:
  int device_ = 0;
  CUstream_st* stream_ = nullptr;
  CUmemPoolHandle_st* pool_ = nullptr;
  std::atomic<uint64_t> epoch_{0};  // the capture in progress, 0 when none
  uint64_t last_epoch_ = 0;
  std::mutex mu_;  // guards the counters below and orders frees against begin_capture
  CaptureReport report_;
  std::vector<void*> deferred_;
};

class Context {
 public:
  // Selects `device`, creates its StreamPool (non-blocking stream + memory pool), a
  // cuBLASLt handle and a 32 MiB workspace. Throws Error{device} if the device is unusable.
  explicit Context(int device = 0);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int device() const { return device_; }
  CUstream_st* stream() const { return streams_->stream(); }
  // The stream + pool every allocation on this context shares (and keeps alive).
  const std::shared_ptr<StreamPool>& stream_pool() const { return streams_; }
  void* cublaslt() const { return lt_; }  // cublasLtHandle_t
  void* workspace() const { return workspace_; }
  size_t workspace_bytes() const { return workspace_bytes_; }
  int sm_count() const { return sm_count_; }
  size_t max_smem_optin() const { return max_smem_optin_; }
  size_t total_memory() const { return total_memory_; }  // the device's global memory, bytes
  // Blocks the host until everything enqueued on stream() has run; throws on a
  // device-side fault.
  void synchronize() const;

  // Scratch arena for op temporaries: returns a device buffer of >= bytes, reused by the
  // next op (ops on one context run in stream order, one at a time). Growing frees the old
  // buffer stream-ordered (no host sync) and allocates bytes + 25% from the pool. Growing
  // while the stream is capturing a graph throws Error{invalid_argument}: call
  // reserve_scratch() (or run the step once eagerly) before capturing.
  void* scratch(size_t bytes) const;
  // Grows the scratch arena to at least `bytes` now (outside any capture). Never shrinks.
  void reserve_scratch(size_t bytes) const;
  size_t scratch_bytes() const { return scratch_bytes_; }

  // This context's memory pool (see StreamPool).
  PoolStats pool_stats() const { return streams_->stats(); }

  // GEMM plan cache (opaque; filled by linear.cu).
  struct GemmPlan;
  using GemmKey = std::tuple<int64_t, int64_t, int64_t, int, int, int>;
  std::map<GemmKey, std::shared_ptr<GemmPlan>>& gemm_plans() const { return gemm_plans_; }
  // Whether cuBLASLt runs FP8 GEMMs with per-row and per-column f32 scales on this device:
  // -1 not asked yet, 0 no, 1 yes (fp8_gemm.cu's fp8_gemm_available probes once, then caches).
  int& fp8_gemm_state() const { return fp8_gemm_state_; }

 private:
  void grow_scratch(size_t want) const;

  int device_ = 0;
  std::shared_ptr<StreamPool> streams_;
  void* lt_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  int sm_count_ = 0;
  size_t max_smem_optin_ = 0;
  size_t total_memory_ = 0;
  mutable void* scratch_ = nullptr;
  mutable size_t scratch_bytes_ = 0;
  mutable std::map<GemmKey, std::shared_ptr<GemmPlan>> gemm_plans_;  // cache, not state
  mutable int fp8_gemm_state_ = -1;                                  // cache, not state
};

}  // namespace mvl::cuda
