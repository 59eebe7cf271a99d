// How much memory a device has, for checks made before a long load: host RAM from
// /proc/meminfo for the CPU, cudaMemGetInfo for a CUDA device. Never throws.
#pragma once

#include <cstdint>

#include "kernels/core/device.h"

namespace mvl::ops {

struct MemoryInfo {
  uint64_t free_bytes = 0;   // CPU: MemAvailable; CUDA: free global memory
  uint64_t total_bytes = 0;  // CPU: MemTotal; CUDA: total global memory
  bool known = false;        // false when the numbers could not be read
};

MemoryInfo memory_info(Device device);

}  // namespace mvl::ops
