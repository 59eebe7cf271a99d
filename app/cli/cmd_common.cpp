// Helpers shared by subcommands: locating the bundled default model.
#include <unistd.h>

#include <filesystem>

#include "app/cli/command.h"

namespace mvl::cli {

std::string default_model_dir() {
  namespace fs = std::filesystem;
  // The executable lives in <build>/app/ or <prefix>/bin/; the tiny model ships in the
  // source tree's assets/ and is installed to <prefix>/share/minimax-vl/.
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  fs::path exe = n > 0 ? fs::path(std::string(buf, static_cast<size_t>(n))) : fs::path("minimax-vl");
  const fs::path candidates[] = {
      exe.parent_path() / "../share/minimax-vl/tiny-random",
      fs::path(MVL_SOURCE_ROOT) / "assets/models/tiny-random",
  };
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::exists(c / "config.json", ec)) return fs::weakly_canonical(c, ec).string();
  }
  return (fs::path(MVL_SOURCE_ROOT) / "assets/models/tiny-random").string();
}

}  // namespace mvl::cli
