// BuildInfo from the generated build_config.h (configure time) and git_hash.h (every build).
#include "app/engine/core/build_info.h"

#include <fmt/format.h>

#include "kernels/ops/device.h"
#include "mvl/build_config.h"
#include "mvl/git_hash.h"

namespace mvl::engine {

BuildInfo build_info() {
  BuildInfo b;
  b.version = MVL_VERSION;
  b.git_hash = MVL_GIT_HASH;
  b.build_type = MVL_BUILD_TYPE;
  b.cuda = ops::cuda_built();
  b.cuda_arches = b.cuda ? MVL_CUDA_ARCHS : "";
  b.image_decoder = MVL_IMAGE_DECODER;
  b.compiler = MVL_COMPILER;
  return b;
}

std::string version_text(const std::string& program) {
  const BuildInfo b = build_info();
  return fmt::format(
      "{} {} (git {})\n"
      "build:  {}, {}\n"
      "cuda:   {}\n"
      "images: {}",
      program, b.version, b.git_hash, b.build_type, b.compiler,
      b.cuda ? fmt::format("on (sm {})", b.cuda_arches) : std::string("off (CPU only)"),
      b.image_decoder);
}

std::string version_line() {
  const BuildInfo b = build_info();
  return fmt::format("minimax-vl {} (git {}), {}, CUDA {}, {}", b.version, b.git_hash, b.build_type,
                     b.cuda ? "sm " + b.cuda_arches : std::string("off"), b.image_decoder);
}

}  // namespace mvl::engine
