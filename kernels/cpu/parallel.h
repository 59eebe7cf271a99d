// parallel_for: splits [0, n) into contiguous chunks over hardware threads. Plain std::thread;
// used by the CPU reference where it is cheap to do so. Exceptions in a chunk are rethrown.
#pragma once

#include <cstdint>
#include <functional>

namespace mvl::cpu {

// Calls fn(begin, end) on disjoint chunks covering [0, n). Runs inline when n < min_chunk*2
// or only one hardware thread exists.
void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn);

// The same with at most `max_threads` chunks (max_threads < 1: hardware_threads()). A caller
// that must behave the same for any split (and its tests) names the count; 1 runs inline.
void parallel_for(int64_t n, int64_t min_chunk, int64_t max_threads,
                  const std::function<void(int64_t, int64_t)>& fn);

// How many threads parallel_for uses at most: the machine's hardware threads, read once.
int64_t hardware_threads();

// The min_chunk that gives every chunk at least `min_work` units when one item costs
// `work_per_item` (e.g. multiply-adds): starting a thread costs tens of microseconds, so
// small problems (a decode step of a tiny model) run inline instead.
inline int64_t grain_for(int64_t work_per_item, int64_t min_work = int64_t{1} << 18) {
  const int64_t w = work_per_item > 0 ? work_per_item : 1;
  return (min_work + w - 1) / w;
}

}  // namespace mvl::cpu
