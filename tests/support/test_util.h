// Shared test helpers: repo paths, temp dirs, running the CLI, GPU skip policy.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/core/tensor.h"

namespace mvl::test {

// Absolute path of a file in the source tree, e.g. source_path("tests/golden/x.json").
std::string source_path(const std::string& rel);
// A fresh empty directory under the build tree, unique per call; removed at exit.
std::string temp_dir(const std::string& tag);
std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the built minimax-vl with args (no shell), feeding `stdin_text`.
CliResult run_cli(const std::vector<std::string>& args, const std::string& stdin_text = "");

// max |got - ref| / max |ref| over two host tensors of one shape (any float dtype); infinity
// (and a test failure) when the shapes differ. The sharded suites' "within 1e-5 of max |logit|".
double rel_to_max(const Tensor& got, const Tensor& ref);

// n bytes of seeded noise (std::mt19937's low byte): test images whose every pixel differs.
std::vector<uint8_t> noise_bytes(int64_t n, uint32_t seed);

// True when a CUDA device is usable in this build and on this machine.
bool gpu_available();
// MVL_REQUIRE_GPU=1 (set on the GPU machine) turns GPU skips into failures.
bool gpu_required();

}  // namespace mvl::test

// Use at the top of every GPU test: skips without a GPU, fails if one is required.
#define MVL_REQUIRE_GPU_OR_SKIP()                                                    \
  do {                                                                               \
    if (!::mvl::test::gpu_available()) {                                             \
      if (::mvl::test::gpu_required()) FAIL() << "MVL_REQUIRE_GPU=1 but no usable GPU"; \
      GTEST_SKIP() << "no GPU";                                                      \
    }                                                                                \
  } while (0)
