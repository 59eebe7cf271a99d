// `minimax-vl --version`: the version from CMake's project(), a git hash, the build type,
// CUDA on/off with its architectures (matching what this build really has), the decoder.
#include <regex>

#include "kernels/ops/device.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

TEST(VersionCli, PrintsVersionHashBuildCudaAndDecoder) {
  const auto r = test::run_cli({"--version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string& out = r.out;
  EXPECT_NE(out.find(std::string("minimax-vl ") + MVL_PROJECT_VERSION + " (git "), std::string::npos) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(\(git ([0-9a-f]{7,40}(-dirty)?|unknown)\))"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(build: +(Release|Debug|RelWithDebInfo|MinSizeRel|\w+), )")))
      << out;
  if (ops::cuda_built()) {
    EXPECT_TRUE(std::regex_search(out, std::regex(R"(cuda: +on \(sm [0-9a;]+\))"))) << out;
  } else {
    EXPECT_NE(out.find("cuda:   off"), std::string::npos) << out;
  }
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(images: +(OpenCV [0-9.]+|stb_image))"))) << out;
}

TEST(VersionCli, WorksBeforeAnySubcommand) {
  // --version must not be swallowed by the "a subcommand is required" rule.
  const auto r = test::run_cli({"--version", "ask"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("minimax-vl "), std::string::npos);
}

}  // namespace
}  // namespace mvl
