// bind_thread_to: cudaSetDevice on the rank's worker thread.
#include "kernels/comm/device_thread.h"

#include "kernels/core/error.h"

#ifdef MVL_COMM_CUDA
#include <cuda_runtime.h>
#endif

namespace mvl::comm {

void bind_thread_to(const ops::DeviceContext& dev) {
  if (!dev.is_cuda()) return;
#ifdef MVL_COMM_CUDA
  const cudaError_t e = cudaSetDevice(dev.device().index);
  MVL_CHECK(e == cudaSuccess, device, "cudaSetDevice({}) failed: {}", dev.device().index,
            cudaGetErrorString(e));
#else
  throw Error(ErrorCategory::unsupported, "this build has no CUDA backend");
#endif
}

}  // namespace mvl::comm
