// Shipped-file lookup: <exe>/../share/minimax-vl/<rel> first, then the source tree.
#include "app/engine/loading/install_paths.h"

#include <unistd.h>

#include <filesystem>

namespace mvl::engine {
namespace fs = std::filesystem;

namespace {

fs::path executable_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return fs::current_path();
  return fs::path(std::string(buf, static_cast<size_t>(n))).parent_path();
}

// Where `relative` (in the installed share/minimax-vl layout) lives in the source tree.
fs::path source_tree_path(const std::string& relative) {
  const fs::path root(MVL_SOURCE_ROOT);
  if (relative.rfind("models/", 0) == 0) return root / "assets" / relative;
  if (relative.rfind("samples/", 0) == 0) return root / "assets" / relative;
  if (relative.rfind("tokenizer/", 0) == 0) return root / "tests/golden" / relative;
  return root / relative;
}

}  // namespace

std::string shipped_path(const std::string& relative) {
  std::error_code ec;
  const fs::path installed = executable_dir() / ".." / MVL_INSTALL_DATADIR / "minimax-vl" / relative;
  for (const fs::path& c : {installed, source_tree_path(relative)}) {
    if (fs::exists(c, ec)) return fs::weakly_canonical(c, ec).string();
  }
  return fs::weakly_canonical(installed, ec).string();
}

std::string bundled_model_dir() { return shipped_path("models/tiny-docs"); }

}  // namespace mvl::engine
