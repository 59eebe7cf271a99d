// Server counters and histograms, rendered as Prometheus text (GET /metrics). Thread-safe:
// every HTTP thread records into one Metrics under its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace mvl::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}
  void observe(double v);
  // "# TYPE name histogram" and the _bucket/_sum/_count lines.
  std::string render(const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); last = +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void request(const std::string& endpoint, int status);  // one finished HTTP request
  void finished(const std::string& reason, int64_t prompt_tokens, int64_t completion_tokens,
                double ttft_s, double time_per_token_s);
  // Gauges are read at render time from the caller (they live in the admission control).
  std::string render(int64_t active, int64_t queued, int64_t slots, int64_t cached_sessions) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, uint64_t> finished_;
  uint64_t prompt_tokens_ = 0, completion_tokens_ = 0;
  Histogram ttft_, tpot_;
};

}  // namespace mvl::server
