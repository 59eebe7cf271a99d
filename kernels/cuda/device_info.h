// CUDA device discovery (plain C++ header: no CUDA types leak out of kernels/cuda).
#pragma once

#include <cstddef>
#include <string>

namespace mvl::cuda {

int device_count();                  // 0 when no driver/device; never throws
std::string device_name(int index);  // "" when unavailable
// Free and total global memory of device `index` in bytes (cudaMemGetInfo, which counts
// every process's allocations); false when unavailable. Keeps the thread's current device.
bool device_memory(int index, size_t* free_bytes, size_t* total_bytes);

}  // namespace mvl::cuda
