// Keeps the image codec libraries' own diagnostics off our stderr. libjpeg prints warnings
// such as "Corrupt JPEG data: 2 extraneous bytes before marker 0xd9" and libpng prints
// "libpng error: ..." straight to fd 2 from inside OpenCV, where no callback reaches them;
// our one-line error (or the accepted image) must be all the user sees. While a QuietStderr
// lives, fd 2 points at an in-memory file; on destruction it is restored and whatever was
// written meanwhile is replayed, minus the lines that are known codec noise (so another
// thread's message written in that window is delayed, not lost). Scopes are serialized.
#pragma once

#include <string>

namespace mvl::vision {

class QuietStderr {
 public:
  QuietStderr();
  ~QuietStderr();
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_ = -1;
  int capture_ = -1;
};

// True for a line that libjpeg, libpng, libtiff or OpenCV print on their own.
bool is_codec_noise(const std::string& line);

}  // namespace mvl::vision
