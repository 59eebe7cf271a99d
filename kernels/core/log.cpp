// The replaceable log sink.
#include "kernels/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace mvl {

namespace {
std::shared_ptr<spdlog::logger> make_default() {
  auto l = std::make_shared<spdlog::logger>(
      "minimax-vl", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  l->set_pattern("%^%l%$: %v");
  l->set_level(spdlog::level::warn);
  return l;
}
}  // namespace

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = make_default();
  if (auto d = spdlog::get("minimax-vl")) return *d;
  return *instance;
}

void set_log_sink(std::shared_ptr<spdlog::sinks::sink> sink) {
  auto& l = logger();
  l.sinks().clear();
  l.sinks().push_back(std::move(sink));
}

void set_log_level(spdlog::level::level_enum level) { logger().set_level(level); }

}  // namespace mvl
