// memory_info: /proc/meminfo for the host, ops::cuda_device_memory (device.h) for a GPU.
#include "kernels/ops/memory_info.h"

#include <fstream>
#include <sstream>
#include <string>

#include "kernels/ops/device.h"

namespace mvl::ops {

namespace {

MemoryInfo host_memory() {
  MemoryInfo m;
  std::ifstream f("/proc/meminfo");
  std::string line;
  uint64_t total_kib = 0, avail_kib = 0;
  while (std::getline(f, line)) {
    std::istringstream is(line);
    std::string key;
    uint64_t kib = 0;
    is >> key >> kib;
    if (key == "MemTotal:") total_kib = kib;
    if (key == "MemAvailable:") avail_kib = kib;
  }
  if (total_kib == 0) return m;
  m.total_bytes = total_kib * 1024;
  m.free_bytes = (avail_kib ? avail_kib : total_kib) * 1024;
  m.known = true;
  return m;
}

}  // namespace

MemoryInfo memory_info(Device device) {
  if (device.is_cpu()) return host_memory();
  MemoryInfo m;
  size_t free_b = 0, total_b = 0;
  if (cuda_device_memory(device.index, &free_b, &total_b)) {
    m.free_bytes = free_b;
    m.total_bytes = total_b;
    m.known = true;
  }
  return m;
}

}  // namespace mvl::ops
