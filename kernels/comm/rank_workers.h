// RankWorkers: one persistent thread per rank that runs each step of a sharded model in
// lockstep (design.md: "one worker thread per GPU rank"). run(fn) calls fn(rank) on every
// rank's thread and returns when all have finished; the first error (in time) is rethrown
// after every rank has stopped, and on_error (e.g. LocalGroup::abort) is called at once so
// ranks blocked in a collective give up instead of waiting for the failed one.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mvl::comm {

class RankWorkers {
 public:
  // init(rank) runs first on each thread (e.g. select the rank's GPU); on_error as above;
  // after_error runs once a failed step has been joined (e.g. LocalGroup::reset).
  RankWorkers(int size, std::function<void(int)> init = {}, std::function<void()> on_error = {},
              std::function<void()> after_error = {});
  ~RankWorkers();
  RankWorkers(const RankWorkers&) = delete;
  RankWorkers& operator=(const RankWorkers&) = delete;

  int size() const { return static_cast<int>(threads_.size()); }
  // Runs fn(rank) on every rank's thread; one step at a time (callers are serialised).
  void run(const std::function<void(int)>& fn);

 private:
  void loop(int rank);
  std::function<void(int)> init_;
  std::function<void()> on_error_, after_error_;
  std::mutex run_mu_;  // serialises run() calls
  std::mutex mu_;
  std::condition_variable cv_work_, cv_done_;
  const std::function<void(int)>* job_ = nullptr;
  uint64_t job_id_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
};

}  // namespace mvl::comm
