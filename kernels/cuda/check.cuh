// CUDA/cuBLAS error checking for kernels/cuda: every runtime call goes through
// MVL_CUDA_CHECK, every launch is followed by MVL_CUDA_CHECK_LAUNCH(), and failures
// become mvl::Error{device} carrying the call text, the CUDA message and file:line.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include "kernels/core/error.h"

namespace mvl::cuda::detail {

[[noreturn]] inline void throw_cuda(cudaError_t e, const char* call, const char* file, int line) {
  cudaGetLastError();  // clear a non-sticky error so later calls can still report theirs
  throw_error(ErrorCategory::device,
              fmt::format("CUDA call '{}' failed: {} ({}) at {}:{}; check the GPU with nvidia-smi",
                          call, cudaGetErrorString(e), cudaGetErrorName(e), file, line));
}

[[noreturn]] inline void throw_cublas(cublasStatus_t s, const char* call, const char* file,
                                      int line) {
  throw_error(ErrorCategory::device, fmt::format("cuBLAS call '{}' failed with status {} at {}:{}",
                                                 call, static_cast<int>(s), file, line));
}

}  // namespace mvl::cuda::detail

#define MVL_CUDA_CHECK(call)                                                                       \
  do {                                                                                             \
    cudaError_t mvl_e_ = (call);                                                                   \
    if (mvl_e_ != cudaSuccess) ::mvl::cuda::detail::throw_cuda(mvl_e_, #call, __FILE__, __LINE__); \
  } while (0)

#define MVL_CUBLAS_CHECK(call)                                              \
  do {                                                                      \
    cublasStatus_t mvl_s_ = (call);                                         \
    if (mvl_s_ != CUBLAS_STATUS_SUCCESS)                                    \
      ::mvl::cuda::detail::throw_cublas(mvl_s_, #call, __FILE__, __LINE__); \
  } while (0)

// After a <<<...>>> launch: catches bad launch configurations at once (no sync).
#define MVL_CUDA_CHECK_LAUNCH() MVL_CUDA_CHECK(cudaGetLastError())
