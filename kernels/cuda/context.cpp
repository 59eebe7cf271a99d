// cuda::Context: stream, cuBLASLt handle, workspace and scratch for one device. Host-only
// code, so it is a .cpp (g++ is much faster than nvcc here; CI builds this twice per arch
// otherwise).
#include "kernels/cuda/context.h"

#include "kernels/cuda/check.cuh"

namespace mvl::cuda {

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
  MVL_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  cublasLtHandle_t h = nullptr;
  MVL_CUBLAS_CHECK(cublasLtCreate(&h));
  lt_ = h;
  workspace_bytes_ = size_t{32} << 20;
  MVL_CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
}

Context::~Context() {
  // Destructors must not throw: release what we can and ignore errors.
  gemm_plans_.clear();
  if (workspace_) cudaFree(workspace_);
  if (scratch_) cudaFree(scratch_);
  if (lt_) cublasLtDestroy(static_cast<cublasLtHandle_t>(lt_));
  if (stream_) cudaStreamDestroy(stream_);
}

void* Context::scratch(size_t bytes) const {
  if (bytes > scratch_bytes_) {
    MVL_CUDA_CHECK(cudaSetDevice(device_));
    if (scratch_) MVL_CUDA_CHECK(cudaFree(scratch_));
    scratch_ = nullptr;
    scratch_bytes_ = 0;
    const size_t want = bytes + bytes / 4;
    MVL_CHECK(
        cudaMalloc(&scratch_, want) == cudaSuccess, out_of_memory,
        "cannot allocate {:.1f} MiB of GPU scratch; use a shorter prompt chunk or a larger GPU",
        want / 1048576.0);
    scratch_bytes_ = want;
  }
  return scratch_;
}

void Context::synchronize() const {
  MVL_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

}  // namespace mvl::cuda
