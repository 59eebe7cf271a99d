// LoadBar (load_bar.h): formatting and throttled drawing of the loading line.
#include "app/cli/load_bar.h"

#include <algorithm>
#include <cmath>

#include "kernels/core/error.h"  // fmt

namespace mvl::cli {

std::string format_load_line(const engine::LoadProgress& p, int bar_width) {
  const double f = std::clamp(p.fraction, 0.0, 1.0);
  const int filled = static_cast<int>(std::lround(f * bar_width));
  std::string line = "loading [" + std::string(filled, '#') + std::string(bar_width - filled, '-') +
                     fmt::format("] {:3d}%", static_cast<int>(f * 100));
  const std::string bytes = engine::describe_load_bytes(p);
  if (!bytes.empty()) line += "  " + bytes;
  if (!p.stage.empty()) line += "  " + p.stage;
  return line;
}

void LoadBar::operator()(const engine::LoadProgress& p) {
  const bool done = p.fraction >= 1.0;
  if (terminal_) {
    const auto now = std::chrono::steady_clock::now();
    if (!done && p.stage == last_stage_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    last_stage_ = p.stage;
    if (done)
      std::fprintf(out_, "\r\033[2K");
    else
      std::fprintf(out_, "\r\033[2K%s", format_load_line(p).c_str());
  } else {
    // A log gets one line per 10% (and the last), never carriage returns.
    const int decile = static_cast<int>(std::clamp(p.fraction, 0.0, 1.0) * 10);
    if (decile == last_decile_) return;
    last_decile_ = decile;
    std::fprintf(out_, "%s\n", format_load_line(p).c_str());
  }
  std::fflush(out_);
}

}  // namespace mvl::cli
