// Shared test helpers.
#include "tests/support/test_util.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "kernels/ops/device.h"

namespace mvl::test {

namespace fs = std::filesystem;

std::string source_path(const std::string& rel) { return (fs::path(MVL_SOURCE_DIR) / rel).string(); }

std::string temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const fs::path p = fs::path(MVL_BINARY_DIR) / "test-tmp" /
                     (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

CliResult run_cli(const std::vector<std::string>& args, const std::string& stdin_text) {
  const std::string dir = temp_dir("cli");
  const std::string in = dir + "/stdin", out = dir + "/stdout", err = dir + "/stderr";
  write_text(in, stdin_text);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fi = ::open(in.c_str(), O_RDONLY), fo = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644),
              fe = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fi, 0);
    ::dup2(fo, 1);
    ::dup2(fe, 2);
    std::vector<char*> argv;
    std::string exe = MVL_CLI_PATH;
    argv.push_back(exe.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

double rel_to_max(const Tensor& got, const Tensor& ref) {
  EXPECT_EQ(got.shape(), ref.shape());
  if (got.shape() != ref.shape()) return INFINITY;
  const Tensor g = contiguous(got), r = contiguous(ref);
  double m = 0, d = 0;
  for (int64_t i = 0; i < r.numel(); ++i) {
    const double a = load_as_f32(g.data(), g.dtype(), static_cast<size_t>(i));
    const double b = load_as_f32(r.data(), r.dtype(), static_cast<size_t>(i));
    m = std::max(m, std::fabs(b));
    d = std::max(d, std::fabs(a - b));
  }
  return d / m;
}

bool gpu_available() { return ops::cuda_device_count() > 0; }

bool gpu_required() {
  const char* v = std::getenv("MVL_REQUIRE_GPU");
  return v != nullptr && std::string(v) == "1";
}

std::vector<uint8_t> noise_bytes(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<uint8_t>(rng() & 0xFF);
  return v;
}

}  // namespace mvl::test
