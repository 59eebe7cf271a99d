// Logging through spdlog. The process-wide sink is the one global minimax-vl allows:
// front ends replace it (the CLI writes to stderr, the desktop app into its log panel,
// tests capture it) with set_log_sink.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>

namespace mvl {

// Replaces the sink of the "minimax-vl" logger (and makes it the default logger).
void set_log_sink(std::shared_ptr<spdlog::sinks::sink> sink);
void set_log_level(spdlog::level::level_enum level);
spdlog::logger& logger();

}  // namespace mvl

#define MVL_LOG_DEBUG(...) ::mvl::logger().debug(__VA_ARGS__)
#define MVL_LOG_INFO(...) ::mvl::logger().info(__VA_ARGS__)
#define MVL_LOG_WARN(...) ::mvl::logger().warn(__VA_ARGS__)
#define MVL_LOG_ERROR(...) ::mvl::logger().error(__VA_ARGS__)
