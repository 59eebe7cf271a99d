// parallel_for: splits [0, n) into contiguous chunks over hardware threads. Plain std::thread;
// used by the CPU reference where it is cheap to do so. Exceptions in a chunk are rethrown.
#pragma once

#include <cstdint>
#include <functional>

namespace mvl::cpu {

// Calls fn(begin, end) on disjoint chunks covering [0, n). Runs inline when n < min_chunk*2
// or only one hardware thread exists.
void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace mvl::cpu
