// `minimax-vl logits` and `minimax-vl generate --print-ids` against the text goldens (both
// checkpoint layouts), plus their input errors and exit codes.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"

namespace mvl::test {
namespace {

std::vector<int32_t> ids_of(const Tensor& t) {
  Tensor c = contiguous(t);
  std::vector<int32_t> v;
  for (int64_t i = 0; i < c.numel(); ++i) v.push_back(c.data<int32_t>()[i]);
  return v;
}

std::string join(const std::vector<int32_t>& ids) {
  std::ostringstream os;
  for (size_t i = 0; i < ids.size(); ++i) os << (i ? " " : "") << ids[i];
  return os.str();
}

TEST(TextCommands, LogitsAndGreedyIdsMatchGoldens) {
  const std::string g = source_path("tests/golden/text/l3s1_hd32_b16");
  const Checkpoint golden = Checkpoint::open(g + "/golden.safetensors");
  const auto ids = ids_of(golden.get("ids_53"));
  const std::string ids_file = temp_dir("textcli") + "/ids.txt";
  write_text(ids_file, join(ids) + "\n");
  for (const char* layout : {"released", "native"}) {
    const std::string out = temp_dir("textcli") + "/logits.safetensors";
    CliResult r = run_cli({"logits", "-m", g + "/" + layout, "--ids", "-", "--out", out}, join(ids));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Checkpoint got = Checkpoint::open(out);
    const Tensor l = got.get("logits"), ref = golden.get("logits_53");
    ASSERT_EQ(l.shape(), ref.shape());
    ASSERT_EQ(l.dtype(), DType::f32);
    double err = 0, mx = 0;
    for (int64_t i = 0; i < l.numel(); ++i) {
      err = std::max(err, double(std::fabs(l.data<float>()[i] - ref.data<float>()[i])));
      mx = std::max(mx, double(std::fabs(ref.data<float>()[i])));
    }
    EXPECT_LE(err, 1e-4 * mx) << layout;
    r = run_cli({"generate", "-m", g + "/" + layout, "--ids", ids_file, "-n", "32", "--print-ids"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, join(ids_of(golden.get("greedy_53"))) + "\n") << layout;
  }
}

TEST(TextCommands, InputErrorsHaveExitCodes) {
  const std::string m = source_path("tests/golden/text/l2s1_hd16_b8/released");
  const std::string out = temp_dir("textcli") + "/x.safetensors";
  CliResult r = run_cli({"logits", "-m", m, "--ids", "-", "--out", out}, "1 2 x");
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("'x'"), std::string::npos) << r.err;
  r = run_cli({"logits", "-m", m, "--ids", "-", "--out", out}, "1 999999");
  EXPECT_EQ(r.exit_code, 4) << r.err;
  r = run_cli({"logits", "-m", m, "--ids", "-", "--out", out}, "");
  EXPECT_EQ(r.exit_code, 4) << r.err;
  r = run_cli({"generate", "-m", m, "-p", "hello"});
  EXPECT_EQ(r.exit_code, 3) << "no tokenizer.json in a golden dir: " << r.err;
  r = run_cli({"generate", "-m", temp_dir("empty"), "--ids", "-"}, "1 2");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  r = run_cli({"generate", "-m", m});
  EXPECT_EQ(r.exit_code, 2) << "a prompt is required: " << r.err;
}

TEST(TextCommands, SeededSamplingIsReproducible) {
  const std::string m = source_path("tests/golden/text/l2s1_hd16_b8/released");
  auto gen = [&](const std::string& seed) {
    CliResult r = run_cli(
        {"generate", "-m", m, "--ids", "-", "-n", "24", "--temp", "0.9", "--top-p", "0.9", "--seed", seed, "--print-ids"},
        "5 6 7");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  EXPECT_EQ(gen("11"), gen("11"));
  EXPECT_NE(gen("11"), gen("12"));
}

}  // namespace
}  // namespace mvl::test
