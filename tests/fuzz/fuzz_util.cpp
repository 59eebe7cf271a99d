// Scratch files for the fuzz targets (see fuzz_util.h).
#include "tests/fuzz/fuzz_util.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace mvl::fuzz {

namespace fs = std::filesystem;

const std::string& scratch_dir() {
  // Leaked on purpose: the atexit cleanup below runs after static destructors.
  static const std::string* dir = [] {
    const char* t = std::getenv("TMPDIR");
    fs::path p = fs::path(t && *t ? t : "/tmp") / ("mvl-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(p);
    auto* s = new std::string(p.string());
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(*dir, ec);
    });
    return s;
  }();
  return *dir;
}

std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  const fs::path p = fs::path(scratch_dir()) / name;
  fs::create_directories(p.parent_path());
  FILE* f = std::fopen(p.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return p.string();
}

void clear_scratch(const std::string& sub) {
  std::error_code ec;
  const fs::path p = fs::path(scratch_dir()) / sub;
  for (const auto& e : fs::directory_iterator(p, ec)) fs::remove_all(e.path(), ec);
}

}  // namespace mvl::fuzz
