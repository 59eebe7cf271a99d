// Codec stderr capture and filtering (see quiet_stderr.h).
#include "vision/image/quiet_stderr.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>

namespace mvl::vision {

namespace {
std::mutex g_stderr_mutex;
}

bool is_codec_noise(const std::string& line) {
  static const char* const kPrefixes[] = {
      "Corrupt JPEG data",
      "Premature end of JPEG file",
      "Invalid SOS parameters",
      "Warning: unknown JFIF",
      "Unsupported marker type",
      "Bogus ",
      "JPEG datastream contains",
      "Inconsistent progression",
      "libpng warning:",
      "libpng error:",
      "[ WARN:",
      "[ERROR:",
      "TIFFRead",
      "TIFFFetch",
      "Invalid JPEG file structure",
      "Not a JPEG file",
      "Huffman table",
      "Quantization table",
      "imdecode_(",  // OpenCV 4.6 loadsave.cpp: std::cerr << "imdecode_(...): can't read header"
      "OpenCV(",
  };
  for (const char* p : kPrefixes)
    if (line.rfind(p, 0) == 0) return true;
  return false;
}

QuietStderr::QuietStderr() {
  g_stderr_mutex.lock();
  std::fflush(stderr);
  capture_ = ::memfd_create("mvl-codec-stderr", MFD_CLOEXEC);
  saved_ = capture_ >= 0 ? ::dup(STDERR_FILENO) : -1;
  if (saved_ < 0 || ::dup2(capture_, STDERR_FILENO) < 0) {
    if (saved_ >= 0) ::close(saved_);
    if (capture_ >= 0) ::close(capture_);
    saved_ = capture_ = -1;  // cannot capture: leave stderr alone
  }
}

QuietStderr::~QuietStderr() {
  if (saved_ >= 0) {
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    std::string text;
    char buf[4096];
    ssize_t n;
    off_t at = 0;
    while ((n = ::pread(capture_, buf, sizeof(buf), at)) > 0) {
      text.append(buf, static_cast<size_t>(n));
      at += n;
    }
    ::close(capture_);
    std::string keep;
    size_t pos = 0;
    bool prev_noise = false;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      end = end == std::string::npos ? text.size() : end + 1;
      const std::string line = text.substr(pos, end - pos);
      // OpenCV ends its message (which ends in '\n') with std::endl: drop that blank line too.
      const bool noise = is_codec_noise(line) || (line == "\n" && prev_noise);
      if (!noise) keep += line;
      prev_noise = noise;
      pos = end;
    }
    for (size_t off = 0; off < keep.size();) {
      const ssize_t w = ::write(STDERR_FILENO, keep.data() + off, keep.size() - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
  }
  g_stderr_mutex.unlock();
}

}  // namespace mvl::vision
