// now_ms: the steady clock in milliseconds, for the stage timings every layer reports
// (preprocess stages, prefill and decode, load progress). Never a wall-clock date.
#pragma once

#include <chrono>

namespace mvl {

inline double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace mvl
