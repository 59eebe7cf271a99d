// Backend discovery; the CUDA side is in kernels/cuda/device_info.cu.
#include "kernels/ops/device.h"

#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/device_info.h"
#endif

namespace mvl::ops {

#ifdef MVL_HAVE_CUDA
bool cuda_built() { return true; }
int cuda_device_count() { return cuda::device_count(); }
std::string cuda_device_name(int index) { return cuda::device_name(index); }
#else
bool cuda_built() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_device_name(int) { return ""; }
#endif

}  // namespace mvl::ops
