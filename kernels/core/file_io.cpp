// Regular-file-only opening and size-capped whole-file reads.
#include "kernels/core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "kernels/core/error.h"

namespace mvl {

namespace {

const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

std::string human_bytes(size_t n) {
  if (n >= (1ull << 30)) return fmt::format("{} GiB", n >> 30);
  if (n >= (1ull << 20)) return fmt::format("{} MiB", n >> 20);
  return fmt::format("{} bytes", n);
}

}  // namespace

int open_regular_file(const std::string& path, size_t* size_out) {
  // O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT)
      throw_error(ErrorCategory::not_found, fmt::format("'{}' does not exist", path));
    throw_error(ErrorCategory::io, fmt::format("cannot open '{}': {}", path, std::strerror(e)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw_error(ErrorCategory::io, fmt::format("cannot stat '{}': {}", path, std::strerror(e)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    const char* kind = kind_of(st.st_mode);
    if (S_ISDIR(st.st_mode))
      throw_error(ErrorCategory::io, fmt::format("'{}' is a directory, not a file", path));
    throw_error(ErrorCategory::io,
                fmt::format("'{}' is {}; only regular files are read", path, kind));
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  if (size_out != nullptr) *size_out = static_cast<size_t>(st.st_size);
  return fd;
}

std::string read_regular_file(const std::string& path, size_t max_bytes) {
  size_t size = 0;
  struct Fd {
    int fd;
    ~Fd() { ::close(fd); }
  } f{open_regular_file(path, &size)};
  auto too_big = [&] {
    throw_error(ErrorCategory::out_of_memory,
                fmt::format("'{}' is larger than the {} this file may have; refusing to read it",
                            path, human_bytes(max_bytes)));
  };
  if (size > max_bytes) too_big();
  std::string out;
  out.resize(size);
  size_t got = 0;
  for (;;) {
    if (got == out.size()) {
      if (out.size() > max_bytes) too_big();  // it grew while we read
      out.resize(std::min(out.size() + 65536, max_bytes + 1));
    }
    const ssize_t n = ::read(f.fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_error(ErrorCategory::io,
                  fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > max_bytes) too_big();
  out.resize(got);
  return out;
}

std::string read_stream(int fd, size_t max_bytes, const std::string& what) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_error(ErrorCategory::io, fmt::format("cannot read {}: {}", what, std::strerror(errno)));
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes)
      throw_error(
          ErrorCategory::invalid_argument,
          fmt::format("{} is longer than {}; pass a shorter input", what, human_bytes(max_bytes)));
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void write_file_atomically(const std::string& path, const std::string& text, unsigned mode,
                           bool durable) {
  std::string tmp = path + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  MVL_CHECK(fd >= 0, io, "cannot write '{}': {}; check the folder exists and is writable", path,
            std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const int write_errno = errno;
  const bool ok = done == text.size() && ::fchmod(fd, static_cast<mode_t>(mode)) == 0 &&
                  (!durable || ::fsync(fd) == 0);
  const bool closed = ::close(fd) == 0;
  if (!ok || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = ok && closed ? errno : write_errno;
    ::unlink(tmp.c_str());
    throw_error(ErrorCategory::io, fmt::format("cannot write '{}': {}", path, std::strerror(e)));
  }
}

}  // namespace mvl
