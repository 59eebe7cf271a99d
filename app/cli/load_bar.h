// The model-loading bar on stderr: percent, bytes loaded of the total, the rate and an ETA,
// from the engine's LoadProgress events. On a terminal it redraws one line in place (at most
// 10 times a second) and erases it when the model is ready; elsewhere (--progress into a log)
// it prints one line per 10%.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "app/engine/core/engine.h"
#include "app/engine/loading/load_progress.h"

namespace mvl::cli {

using engine::human_bytes;     // "1.5 GB" (app/engine/loading/load_progress.h)
using engine::human_duration;  // "12:34"
// One line without control characters, e.g.
// "loading [#######-------]  42%  1.2 GB / 2.9 GB  850.0 MB/s  ETA 0:02  text model".
std::string format_load_line(const engine::LoadProgress& p, int bar_width = 24);

class LoadBar {
 public:
  LoadBar(std::FILE* out, bool terminal) : out_(out), terminal_(terminal) {}
  void operator()(const engine::LoadProgress& p);

 private:
  std::FILE* out_;
  bool terminal_;
  std::chrono::steady_clock::time_point last_{};
  std::string last_stage_;
  int last_decile_ = -1;
};

}  // namespace mvl::cli
