// LoadMeter (load_progress.h): byte counting behind one mutex, throttled reports.
#include "app/engine/loading/load_progress.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <unordered_set>

#include "kernels/core/error.h"  // fmt

namespace mvl::engine {

std::string human_bytes(double bytes) {
  static const char* const kUnits[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000.0 && u < 4) {
    bytes /= 1000.0;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, kUnits[u]);
}

std::string human_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string describe_load_bytes(const LoadProgress& p) {
  if (p.bytes_total == 0) return "";
  std::string s = human_bytes(static_cast<double>(p.bytes_done)) + " / " +
                  human_bytes(static_cast<double>(p.bytes_total));
  const double secs = p.elapsed_ms / 1000.0;
  if (p.bytes_done > 0 && secs > 0.05 && p.bytes_done < p.bytes_total) {
    const double rate = static_cast<double>(p.bytes_done) / secs;
    s += "  " + human_bytes(rate) + "/s  ETA " +
         human_duration(static_cast<double>(p.bytes_total - p.bytes_done) / rate);
  }
  return s;
}

namespace {
constexpr double kWeightsStart = 0.02;  // config, tokenizer and the index come first
constexpr double kWeightsEnd = 0.99;
constexpr double kReportEvery = 0.005;  // of bytes_total
}  // namespace

struct LoadMeter::State {
  std::mutex mu;
  LoadProgressFn fn;
  bool closed = false;
  bool count_gets = true;
  std::unordered_set<std::string> seen;
  LoadProgress p;
  uint64_t reported = 0;  // bytes_done at the last report
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();

  // Caller holds mu.
  void report(bool force) {
    if (closed || !fn) return;
    if (!force && p.bytes_total > 0 &&
        static_cast<double>(p.bytes_done - reported) < kReportEvery * p.bytes_total)
      return;
    p.elapsed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    reported = p.bytes_done;
    fn(p);
  }
  void count(uint64_t bytes) {
    p.bytes_done = std::min<uint64_t>(p.bytes_total, p.bytes_done + bytes);
    if (p.bytes_total > 0)
      p.fraction = kWeightsStart + (kWeightsEnd - kWeightsStart) *
                                       static_cast<double>(p.bytes_done) / p.bytes_total;
    report(false);
  }
};

LoadMeter::LoadMeter(LoadProgressFn fn) : s_(std::make_shared<State>()) {
  s_->fn = std::move(fn);
}

LoadMeter::~LoadMeter() {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->closed = true;
}

void LoadMeter::step(const std::string& stage, double fraction) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->p.stage = stage;
  s_->p.fraction = std::max(s_->p.fraction, fraction);
  s_->report(true);
}

void LoadMeter::attach(Checkpoint& ckpt) {
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->p.bytes_total = ckpt.total_bytes();
  }
  std::shared_ptr<State> s = s_;  // the observer may outlive this meter (Checkpoint copies)
  ckpt.set_get_observer([s](const TensorInfo& t) {
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->closed || !s->count_gets || !s->seen.insert(t.name).second) return;
    s->count(t.end - t.begin);
  });
}

void LoadMeter::count_gets(bool on) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->count_gets = on;
}

void LoadMeter::add(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(s_->mu);
  if (!s_->closed) s_->count(bytes);
}

void LoadMeter::weights(const std::string& stage) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->p.stage = stage;
  s_->p.fraction = std::max(s_->p.fraction, kWeightsStart);
  s_->report(true);
}

void LoadMeter::finish() {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->p.stage = "ready";
  s_->p.bytes_done = s_->p.bytes_total;
  s_->p.fraction = 1.0;
  s_->report(true);
  s_->closed = true;
}

}  // namespace mvl::engine
