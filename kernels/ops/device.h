// Backend discovery (whether this build has CUDA and how many devices are usable) and
// DeviceContext, the explicit handle to where ops run: the CPU, or one CUDA device with
// its cuda::Context (stream, cuBLASLt handle, scratch). The model owns one; tensors it
// allocates through ops::empty/to_device carry it, so later ops find it from their inputs.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "kernels/core/device.h"

namespace mvl::ops {

bool cuda_built();           // compiled with the CUDA backend
int cuda_device_count();     // 0 without CUDA or without a usable device (never throws)
std::string cuda_device_name(int index);  // "" if unavailable
// Free and total global memory of CUDA device `index` in bytes (every process's allocations
// count); false when unavailable or in a CPU-only build.
bool cuda_device_memory(int index, size_t* free_bytes, size_t* total_bytes);

class DeviceContext {
 public:
  DeviceContext() = default;  // the CPU
  // cpu: the CPU handle. cuda:i: creates the device's stream and handles; throws
  // Error{unsupported} in CPU-only builds and Error{device} when the GPU is unusable.
  static DeviceContext open(Device device);
  Device device() const { return device_; }
  bool is_cuda() const { return device_.is_cuda(); }
  // The backend object (a cuda::Context for CUDA devices, null for the CPU); opaque here.
  const std::shared_ptr<const void>& backend() const { return backend_; }
  // Waits until all queued device work has run (no-op on the CPU).
  void synchronize() const;

 private:
  Device device_ = Device::cpu();
  std::shared_ptr<const void> backend_;
};

}  // namespace mvl::ops
