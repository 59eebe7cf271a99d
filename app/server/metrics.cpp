// Prometheus text exposition format 0.0.4: counters, gauges, cumulative histograms.
#include "app/server/metrics.h"

#include <fmt/format.h>

namespace mvl::server {

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

std::string Histogram::render(const std::string& name, const std::string& help) const {
  std::string s = fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    s += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cum);
  }
  cum += counts_.back();
  s += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cum, name, sum_,
                   name, count_);
  return s;
}

Metrics::Metrics()
    : ttft_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      tpot_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}) {}

void Metrics::request(const std::string& endpoint, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{endpoint, status}];
}

void Metrics::finished(const std::string& reason, int64_t prompt_tokens, int64_t completion_tokens,
                       double ttft_s, double time_per_token_s) {
  std::lock_guard<std::mutex> lock(mu_);
  ++finished_[reason];
  prompt_tokens_ += static_cast<uint64_t>(prompt_tokens);
  completion_tokens_ += static_cast<uint64_t>(completion_tokens);
  if (completion_tokens > 0) ttft_.observe(ttft_s);
  if (completion_tokens > 1) tpot_.observe(time_per_token_s);
}

std::string Metrics::render(int64_t active, int64_t queued, int64_t slots,
                            int64_t cached_sessions) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string s;
  s += "# HELP mvl_http_requests_total HTTP requests answered, by endpoint and status.\n"
       "# TYPE mvl_http_requests_total counter\n";
  for (const auto& [k, n] : requests_)
    s += fmt::format("mvl_http_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", k.first,
                     k.second, n);
  s += "# HELP mvl_completions_total Chat completions that ran, by finish reason.\n"
       "# TYPE mvl_completions_total counter\n";
  for (const auto& [k, n] : finished_)
    s += fmt::format("mvl_completions_total{{finish_reason=\"{}\"}} {}\n", k, n);
  s += fmt::format(
      "# HELP mvl_prompt_tokens_total Prompt positions prefilled (cached prefixes excluded).\n"
      "# TYPE mvl_prompt_tokens_total counter\nmvl_prompt_tokens_total {}\n"
      "# HELP mvl_completion_tokens_total Tokens generated.\n"
      "# TYPE mvl_completion_tokens_total counter\nmvl_completion_tokens_total {}\n",
      prompt_tokens_, completion_tokens_);
  s += fmt::format(
      "# HELP mvl_requests_active Requests holding a slot.\n"
      "# TYPE mvl_requests_active gauge\nmvl_requests_active {}\n"
      "# HELP mvl_queue_depth Requests waiting for a slot.\n"
      "# TYPE mvl_queue_depth gauge\nmvl_queue_depth {}\n"
      "# HELP mvl_slots Configured slots (--parallel).\n"
      "# TYPE mvl_slots gauge\nmvl_slots {}\n"
      "# HELP mvl_cached_sessions Conversations kept for prefix reuse.\n"
      "# TYPE mvl_cached_sessions gauge\nmvl_cached_sessions {}\n",
      active, queued, slots, cached_sessions);
  s += ttft_.render("mvl_time_to_first_token_seconds",
                    "Time from dequeue to the first sampled token.");
  s += tpot_.render("mvl_time_per_output_token_seconds", "Decode time per token after the first.");
  return s;
}

}  // namespace mvl::server
