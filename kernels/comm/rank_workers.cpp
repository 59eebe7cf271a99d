// RankWorkers: persistent per-rank threads, a job counter to start a step, a pending count
// to join it, and the first exception of the step.
#include "kernels/comm/rank_workers.h"

#include "kernels/core/error.h"

namespace mvl::comm {

RankWorkers::RankWorkers(int size, std::function<void(int)> init, std::function<void()> on_error,
                         std::function<void()> after_error)
    : init_(std::move(init)), on_error_(std::move(on_error)), after_error_(std::move(after_error)) {
  MVL_CHECK(size >= 1, invalid_argument, "RankWorkers: needs at least one rank, got {}", size);
  for (int r = 0; r < size; ++r) threads_.emplace_back([this, r] { loop(r); });
}

RankWorkers::~RankWorkers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_work_.notify_all();
  for (auto& t : threads_) t.join();
}

void RankWorkers::loop(int rank) {
  uint64_t seen = 0;
  bool initialised = false;
  for (;;) {
    const std::function<void(int)>* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_work_.wait(lock, [&] { return stop_ || job_id_ != seen; });
      if (stop_) return;
      seen = job_id_;
      job = job_;
    }
    std::exception_ptr err;
    try {
      if (!initialised && init_) init_(rank);
      initialised = true;
      (*job)(rank);
    } catch (...) {
      err = std::current_exception();
    }
    bool first = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (err && !error_) {
        error_ = err;
        first = true;
      }
    }
    if (first && on_error_) on_error_();  // outside the lock: it wakes ranks in collectives
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) cv_done_.notify_all();
    }
  }
}

void RankWorkers::run(const std::function<void(int)>& fn) {
  std::lock_guard<std::mutex> serial(run_mu_);
  std::exception_ptr err;
  {
    std::unique_lock<std::mutex> lock(mu_);
    job_ = &fn;
    error_ = nullptr;
    pending_ = size();
    ++job_id_;
    cv_work_.notify_all();
    cv_done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
    err = error_;
  }
  if (err) {
    if (after_error_) after_error_();
    std::rethrow_exception(err);
  }
}

}  // namespace mvl::comm
