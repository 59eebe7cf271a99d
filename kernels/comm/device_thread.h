// Binds the calling thread to a rank's device (cudaSetDevice for a CUDA DeviceContext, a
// no-op for the CPU): kernels and NCCL calls launched by a rank's worker thread must run
// with that rank's GPU current.
#pragma once

#include "kernels/ops/device.h"

namespace mvl::comm {

void bind_thread_to(const ops::DeviceContext& dev);

}  // namespace mvl::comm
