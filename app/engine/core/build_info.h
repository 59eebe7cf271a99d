// What this binary is: version (one place: project() in the top CMakeLists.txt), git hash,
// build type, the CUDA backend and its architectures, the image decoder. Printed by
// `minimax-vl --version` and the desktop's About line.
#pragma once

#include <string>

namespace mvl::engine {

struct BuildInfo {
  std::string version;        // "0.3.0"
  std::string git_hash;       // "8528168a1b2c" (+ "-dirty"), or "unknown" outside git
  std::string build_type;     // "Release"
  bool cuda = false;          // built with the CUDA backend
  std::string cuda_arches;    // "90a;80" when cuda
  std::string image_decoder;  // "OpenCV 4.6.0" or "stb_image"
  std::string compiler;       // "GNU 12.2.0"
};

BuildInfo build_info();

// Multi-line, for --version: "minimax-vl 0.3.0 (git 8528168a1b2c)\nbuild: Release\n...".
std::string version_text(const std::string& program);
// One line, for the desktop's About line.
std::string version_line();

}  // namespace mvl::engine
