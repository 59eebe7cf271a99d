// Backend discovery; the CUDA side is in kernels/cuda/device_info.cu.
#include "kernels/ops/device.h"

#include "kernels/core/error.h"
#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/context.h"
#include "kernels/cuda/device_info.h"
#endif

namespace mvl::ops {

#ifdef MVL_HAVE_CUDA
bool cuda_built() { return true; }
int cuda_device_count() { return cuda::device_count(); }
std::string cuda_device_name(int index) { return cuda::device_name(index); }
bool cuda_device_memory(int index, size_t* free_bytes, size_t* total_bytes) {
  return cuda::device_memory(index, free_bytes, total_bytes);
}
#else
bool cuda_built() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_device_name(int) { return ""; }
bool cuda_device_memory(int, size_t*, size_t*) { return false; }
#endif

DeviceContext DeviceContext::open(Device device) {
  DeviceContext d;
  d.device_ = device;
  if (device.is_cpu()) return d;
#ifdef MVL_HAVE_CUDA
  const int n = cuda_device_count();
  MVL_CHECK(device.index >= 0 && device.index < n, device, "{} is not available ({} CUDA device(s) usable)",
            device.str(), n);
  d.backend_ = std::make_shared<const cuda::Context>(device.index);
  return d;
#else
  throw Error(ErrorCategory::unsupported,
              fmt::format("{} requested but this build has no CUDA backend; rebuild with -DMVL_CUDA=ON or use the CPU",
                          device.str()));
#endif
}

void DeviceContext::synchronize() const {
#ifdef MVL_HAVE_CUDA
  if (backend_) static_cast<const cuda::Context*>(backend_.get())->synchronize();
#endif
}

}  // namespace mvl::ops
