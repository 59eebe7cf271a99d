// cuda::Context: the explicit per-device object every CUDA op takes (no globals).
// It owns one stream, one cuBLASLt handle, a GEMM workspace and a cache of GEMM
// algorithm choices. Ops enqueue on ctx.stream() and never synchronise the host,
// except the documented ones (to_host, MoE prefill's expert counts). Not thread-safe:
// one Context per worker thread/stream. Plain C++ header: no CUDA types leak out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

struct CUstream_st;  // = cudaStream_t's pointee; forward-declared so no CUDA header leaks

namespace mvl::cuda {

class Context {
 public:
  // Selects `device`, creates a non-blocking stream, a cuBLASLt handle and a 32 MiB
  // workspace. Throws Error{device} if the device is unusable.
  explicit Context(int device = 0);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int device() const { return device_; }
  CUstream_st* stream() const { return stream_; }
  void* cublaslt() const { return lt_; }  // cublasLtHandle_t
  void* workspace() const { return workspace_; }
  size_t workspace_bytes() const { return workspace_bytes_; }
  int sm_count() const { return sm_count_; }
  size_t max_smem_optin() const { return max_smem_optin_; }
  // Blocks the host until everything enqueued on stream() has run; throws on a
  // device-side fault.
  void synchronize() const;

  // Scratch arena for op temporaries: returns a device buffer of >= bytes, reused by the
  // next op (ops on one context run in stream order, one at a time). Growing frees the old
  // buffer (cudaFree waits for the device), so warm up once before capturing a graph.
  void* scratch(size_t bytes) const;

  // GEMM plan cache (opaque; filled by gemm.cu).
  struct GemmPlan;
  using GemmKey = std::tuple<int64_t, int64_t, int64_t, int, int, int>;
  std::map<GemmKey, std::shared_ptr<GemmPlan>>& gemm_plans() const { return gemm_plans_; }

 private:
  int device_ = 0;
  CUstream_st* stream_ = nullptr;
  void* lt_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  int sm_count_ = 0;
  size_t max_smem_optin_ = 0;
  mutable void* scratch_ = nullptr;
  mutable size_t scratch_bytes_ = 0;
  mutable std::map<GemmKey, std::shared_ptr<GemmPlan>> gemm_plans_;  // cache, not state
};

}  // namespace mvl::cuda
