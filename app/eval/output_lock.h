// One eval run per output folder: an exclusive flock on <dir>/.lock, held while the run
// writes predictions and reports, so a second `eval -o` on the same folder stops with a
// usage error instead of interleaving two runs' records. The lock dies with the process
// (no stale lock after a crash or kill -9).
#pragma once

#include <memory>
#include <string>

namespace mvl::eval {

class OutputLock {
 public:
  // Creates `dir` if needed and takes the lock. Throws Error{invalid_argument} naming the
  // folder (and the holder's pid) when another process holds it, Error{io} if it cannot.
  static std::shared_ptr<OutputLock> acquire(const std::string& dir);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  const std::string& dir() const { return dir_; }

 private:
  OutputLock(std::string dir, int fd) : dir_(std::move(dir)), fd_(fd) {}
  std::string dir_;
  int fd_ = -1;
};

}  // namespace mvl::eval
