// Backend discovery: whether this build has CUDA and how many devices are usable.
#pragma once

#include <string>

namespace mvl::ops {

bool cuda_built();           // compiled with the CUDA backend
int cuda_device_count();     // 0 without CUDA or without a usable device (never throws)
std::string cuda_device_name(int index);  // "" if unavailable

}  // namespace mvl::ops
