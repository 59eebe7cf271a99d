// The eval output folder lock (see output_lock.h).
#include "app/eval/output_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "kernels/core/error.h"

namespace mvl::eval {

std::shared_ptr<OutputLock> OutputLock::acquire(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  MVL_CHECK(!ec, io, "cannot create the output dir '{}': {}", dir, ec.message());
  const std::string path = (std::filesystem::path(dir) / ".lock").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  MVL_CHECK(fd >= 0, io, "cannot open the lock file '{}': {}", path, std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    if (e == EWOULDBLOCK)
      throw_error(ErrorCategory::invalid_argument,
                  fmt::format("'{}' is in use by another eval run{}; wait for it to finish or pass "
                              "another --output dir",
                              dir, holder.empty() ? "" : " (pid " + holder + ")"));
    throw_error(ErrorCategory::io, fmt::format("cannot lock '{}': {}", path, std::strerror(e)));
  }
  // Who holds it, for the other run's message (informative only; the flock is the lock).
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  return std::shared_ptr<OutputLock>(new OutputLock(dir, fd));
}

OutputLock::~OutputLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace mvl::eval
