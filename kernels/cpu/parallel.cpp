// parallel_for over std::thread.
#include "kernels/cpu/parallel.h"

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

namespace mvl::cpu {

int64_t hardware_threads() {
  // The machine's core count does not change while we run: read it once.
  static const int64_t kHardwareThreads = std::max<int64_t>(1, std::thread::hardware_concurrency());
  return kHardwareThreads;
}

void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn) {
  parallel_for(n, min_chunk, 0, fn);
}

void parallel_for(int64_t n, int64_t min_chunk, int64_t max_threads,
                  const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  // Small problems never ask for the core count: glibc answers hardware_concurrency()
  // by reading /sys on every call, which costs more than a tiny decode-step op.
  if (n < 2 * std::max<int64_t>(1, min_chunk)) {
    fn(0, n);
    return;
  }
  const int64_t hw = max_threads >= 1 ? max_threads : hardware_threads();
  const int64_t chunks = std::min<int64_t>(hw, std::max<int64_t>(1, n / std::max<int64_t>(1, min_chunk)));
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(chunks);
  const int64_t per = (n + chunks - 1) / chunks;
  auto run = [&](int64_t c, int64_t b, int64_t e) {
    try {
      fn(b, e);
    } catch (...) {
      errors[c] = std::current_exception();
    }
  };
  // Chunks 1.. on new threads, chunk 0 on the calling thread (one thread start fewer).
  for (int64_t c = 1; c < chunks; ++c) {
    const int64_t b = c * per, e = std::min(n, b + per);
    if (b >= e) break;
    threads.emplace_back(run, c, b, e);
  }
  run(0, 0, std::min(n, per));
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace mvl::cpu
