// cuda::Context and its StreamPool: stream, stream-ordered memory pool, cuBLASLt handle,
// workspace and scratch for one device, plus the pool's graph-capture bookkeeping.
// Host-only code, so it is a .cpp (g++ is much faster than nvcc here; CI builds this twice
// per arch otherwise).
#include "kernels/cuda/context.h"

#include <cstdint>
#include <limits>

#include "kernels/cuda/check.cuh"

namespace mvl::cuda {

// ---- StreamPool -------------------------------------------------------------------------

StreamPool::StreamPool(int device) : device_(device) {
  MVL_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.handleTypes = cudaMemHandleTypeNone;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = device;
  const cudaError_t e = cudaMemPoolCreate(&pool_, &props);
  if (e != cudaSuccess) {
    cudaStreamDestroy(stream_);
    detail::throw_cuda(
        e, "cudaMemPoolCreate (stream-ordered allocator; needs a driver for CUDA 11.2+)", __FILE__,
        __LINE__);
  }
  // Keep every freed byte cached: without this the pool returns memory to the driver at
  // each synchronisation and the next decode step allocates from the driver again.
  uint64_t keep = std::numeric_limits<uint64_t>::max();
  MVL_CUDA_CHECK(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &keep));
}

StreamPool::~StreamPool() {
  // Destructors must not throw. Pending frees complete before the pool goes; destroying a
  // pool with outstanding allocations is deferred by the driver, so this is safe anyway.
  if (stream_) cudaStreamSynchronize(stream_);
  if (pool_) cudaMemPoolDestroy(pool_);
  if (stream_) cudaStreamDestroy(stream_);
  cudaGetLastError();
}

void* StreamPool::allocate(size_t bytes, uint64_t* epoch) {
  void* p = nullptr;
  cudaError_t e = cudaMallocFromPoolAsync(&p, bytes, pool_, stream_);
  if (e == cudaErrorMemoryAllocation && !capturing()) {
    // Fragmentation or memory parked in this pool: let pending frees land, hand the cached
    // memory back to the driver, and try once more before giving up.
    cudaGetLastError();
    cudaStreamSynchronize(stream_);
    cudaMemPoolTrimTo(pool_, 0);
    e = cudaMallocFromPoolAsync(&p, bytes, pool_, stream_);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    if (e != cudaErrorMemoryAllocation)
      detail::throw_cuda(e, "cudaMallocFromPoolAsync", __FILE__, __LINE__);
    size_t free_b = 0, total_b = 0;
    if (!capturing()) cudaMemGetInfo(&free_b, &total_b);
    cudaGetLastError();
    const PoolStats s = stats();
    throw_error(
        ErrorCategory::out_of_memory,
        fmt::format("cannot allocate {} bytes ({:.1f} MiB) on cuda:{} ({:.1f} MiB free of "
                    "{:.1f} MiB; this context's pool holds {:.1f} MiB): {}; use fewer layers, "
                    "a shorter context or a larger GPU",
                    bytes, bytes / 1048576.0, device_, free_b / 1048576.0, total_b / 1048576.0,
                    s.reserved / 1048576.0, cudaGetErrorString(e)));
  }
  *epoch = epoch_.load();
  if (*epoch != 0) {
    std::lock_guard<std::mutex> lock(mu_);
    report_.escaped += 1;
    report_.escaped_bytes += static_cast<int64_t>(bytes);
  }
  return p;
}

void StreamPool::release(void* p, size_t bytes, uint64_t epoch) noexcept {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t now = epoch_.load();
  if (epoch != 0) {
    // A graph allocation. Inside its own capture the free becomes a graph free node. Once
    // that capture has ended (it failed: the allocation escaped) the graph owned the memory
    // and is gone, so there is nothing to free, and freeing the address could hit memory
    // the pool has handed out since.
    if (epoch == now) {
      report_.escaped -= 1;
      report_.escaped_bytes -= static_cast<int64_t>(bytes);
      if (cudaFreeAsync(p, stream_) != cudaSuccess) cudaGetLastError();
    }
    return;
  }
  if (now != 0) {
    // Allocated before the capture: a free node may only free graph allocations, so park
    // it until the capture ends (end_capture reports it: the graph may still use it).
    report_.foreign += 1;
    report_.foreign_bytes += static_cast<int64_t>(bytes);
    deferred_.push_back(p);
    return;
  }
  if (cudaFreeAsync(p, stream_) != cudaSuccess) cudaGetLastError();
}

void StreamPool::begin_capture() {
  std::lock_guard<std::mutex> lock(mu_);
  MVL_CHECK(epoch_.load() == 0, invalid_argument,
            "a CUDA graph capture is already in progress on this context's stream; captures "
            "cannot nest");
  report_ = CaptureReport{};
  epoch_.store(++last_epoch_);
}

StreamPool::CaptureReport StreamPool::end_capture() noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  epoch_.store(0);
  for (void* p : deferred_)
    if (cudaFreeAsync(p, stream_) != cudaSuccess) cudaGetLastError();
  deferred_.clear();
  return report_;
}

PoolStats StreamPool::stats() const {
  PoolStats s;
  MVL_CUDA_CHECK(cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrReservedMemCurrent, &s.reserved));
  MVL_CUDA_CHECK(cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrReservedMemHigh, &s.reserved_high));
  MVL_CUDA_CHECK(cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrUsedMemCurrent, &s.used));
  MVL_CUDA_CHECK(cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrUsedMemHigh, &s.used_high));
  return s;
}

void StreamPool::trim(size_t keep_bytes) const {
  MVL_CUDA_CHECK(cudaMemPoolTrimTo(pool_, keep_bytes));
}

// ---- Context ----------------------------------------------------------------------------

Context::Context(int device) : device_(device) {
  int n = 0;
  MVL_CUDA_CHECK(cudaGetDeviceCount(&n));
  MVL_CHECK(device >= 0 && device < n, invalid_argument,
            "CUDA device {} does not exist ({} visible); pick one with --device", device, n);
  MVL_CUDA_CHECK(cudaSetDevice(device));
  cudaDeviceProp p{};
  MVL_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  sm_count_ = p.multiProcessorCount;
  max_smem_optin_ = p.sharedMemPerBlockOptin;
  total_memory_ = p.totalGlobalMem;
  int pools = 0;
  MVL_CUDA_CHECK(cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device));
  MVL_CHECK(pools != 0, unsupported,
            "cuda:{} does not support stream-ordered memory pools (cudaMallocAsync); update the "
            "NVIDIA driver",
            device);
  streams_ = std::make_shared<StreamPool>(device);
  cublasLtHandle_t h = nullptr;
  MVL_CUBLAS_CHECK(cublasLtCreate(&h));
  lt_ = h;
  workspace_bytes_ = size_t{32} << 20;
  MVL_CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
}

Context::~Context() {
  // Destructors must not throw: release what we can and ignore errors. Work still queued
  // may use the workspace and the scratch, so wait for the stream first.
  gemm_plans_.clear();
  cudaStreamSynchronize(streams_->stream());
  if (scratch_) streams_->release(scratch_, scratch_bytes_, 0);
  if (workspace_) cudaFree(workspace_);
  if (lt_) cublasLtDestroy(static_cast<cublasLtHandle_t>(lt_));
  cudaGetLastError();
  // streams_ goes with the last tensor allocated on this context.
}

void Context::grow_scratch(size_t want) const {
  if (scratch_) streams_->release(scratch_, scratch_bytes_, 0);  // stream-ordered: no host sync
  scratch_ = nullptr;
  scratch_bytes_ = 0;
  uint64_t epoch = 0;
  scratch_ = streams_->allocate(want, &epoch);
  scratch_bytes_ = want;
}

void* Context::scratch(size_t bytes) const {
  if (bytes > scratch_bytes_) {
    cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
    MVL_CUDA_CHECK(cudaStreamIsCapturing(streams_->stream(), &st));
    MVL_CHECK(!streams_->capturing() && st == cudaStreamCaptureStatusNone, invalid_argument,
              "an op needs {} bytes of GPU scratch but only {} are reserved, and the scratch "
              "cannot grow while a CUDA graph is being captured; call reserve_scratch({}) or run "
              "the step once eagerly before capturing",
              bytes, scratch_bytes_, bytes);
    grow_scratch(bytes + bytes / 4);
  }
  return scratch_;
}

void Context::reserve_scratch(size_t bytes) const {
  if (bytes <= scratch_bytes_) return;
  MVL_CHECK(!streams_->capturing(), invalid_argument,
            "reserve_scratch({}) during a CUDA graph capture; reserve before capturing", bytes);
  grow_scratch(bytes);
}

void Context::synchronize() const {
  MVL_CUDA_CHECK(cudaStreamSynchronize(streams_->stream()));
}

}  // namespace mvl::cuda
