// CUDA device discovery (plain C++ header: no CUDA types leak out of kernels/cuda).
#pragma once

#include <string>

namespace mvl::cuda {

int device_count();                  // 0 when no driver/device; never throws
std::string device_name(int index);  // "" when unavailable

}  // namespace mvl::cuda
