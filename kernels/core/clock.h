// now_ms: the steady clock in milliseconds, for the stage timings every layer reports
// (preprocess stages, prefill and decode, load progress). Never a wall-clock date.
// process_cpu_ms: CPU time of the whole process (every thread) in milliseconds, for benches on
// a shared machine, where it is steadier than wall time.
#pragma once

#include <time.h>

#include <chrono>

namespace mvl {

inline double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

inline double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

}  // namespace mvl
