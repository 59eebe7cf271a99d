// One process per rank on the CPU: `minimax-vl logits|generate --tp N --rank R --rendezvous
// SOCK`, started N times at once, meet over a Unix socket (comm::SocketComm) and give bit for
// bit the logits of `--tp N` as threads (the same rank-order sums), within 1e-5 of --tp 1, on a
// text golden and on the tiny VL model with an image; generate prints the ids of --tp 1 on
// every rank. (A rank whose partners never come times out: tests/comm/socket_comm_test.cpp.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using test::source_path;

std::string quote(const std::string& s) {
  return "'" + s + "'";
}

// Runs `minimax-vl args... --tp N --rank r --rendezvous dir/sock` for r in [0, N) at once, each
// with its own -o dir/out<r>.safetensors (when with_out) and stdout dir/stdout<r>. Returns the
// shell's status (0 = every rank exited 0).
int run_ranks(const std::string& dir, int N, const std::vector<std::string>& args, bool with_out) {
  std::string script = "cd " + quote(dir) + " && pids=''; ";
  for (int r = 0; r < N; ++r) {
    std::string cmd = quote(MVL_CLI_PATH);
    for (const auto& a : args) cmd += " " + quote(a);
    cmd += " --device cpu --tp " + std::to_string(N) + " --rank " + std::to_string(r) +
           " --rendezvous " + quote(dir + "/sock");
    if (with_out) cmd += " -o out" + std::to_string(r) + ".safetensors";
    script += cmd + " > stdout" + std::to_string(r) + " 2> stderr" + std::to_string(r) +
              " & pids=\"$pids $!\"; ";
  }
  script += "rc=0; for p in $pids; do wait $p || rc=1; done; exit $rc";
  return std::system(("bash -c " + quote(script)).c_str());
}

Tensor logits_of(const std::string& path) {
  return contiguous(SafetensorsFile::open(path)->get("logits"));
}

Tensor threads_logits(const std::string& dir, const std::vector<std::string>& args, int tp) {
  std::vector<std::string> a = args;
  const std::string out = dir + "/threads" + std::to_string(tp) + ".safetensors";
  a.insert(a.end(), {"--device", "cpu", "--tp", std::to_string(tp), "-o", out});
  const auto r = test::run_cli(a);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return logits_of(out);
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::equal(a.data<float>(), a.data<float>() + a.numel(), b.data<float>(),
                    [](float x, float y) { return std::memcmp(&x, &y, sizeof(float)) == 0; });
}

void check_processes(const std::vector<std::string>& model, const std::string& ids,
                     const std::vector<int>& sizes) {
  const std::string dir = test::temp_dir("tp-procs");
  test::write_text(dir + "/ids.txt", ids);
  std::vector<std::string> args = {"logits", "--ids", dir + "/ids.txt"};
  args.insert(args.end(), model.begin(), model.end());
  const Tensor one = threads_logits(dir, args, 1);
  for (int N : sizes) {
    const Tensor threads = threads_logits(dir, args, N);
    ASSERT_EQ(run_ranks(dir, N, args, true), 0) << "rank 0: " << test::read_text(dir + "/stderr0")
                                                << " rank 1: " << test::read_text(dir + "/stderr1");
    for (int r = 0; r < N; ++r) {
      const Tensor got = logits_of(dir + "/out" + std::to_string(r) + ".safetensors");
      EXPECT_TRUE(same_bits(got, threads)) << N << " processes, rank " << r;
      EXPECT_LE(test::rel_to_max(got, one), 1e-5) << N << " processes, rank " << r;
      const std::string err = test::read_text(dir + "/stderr" + std::to_string(r));
      EXPECT_NE(err.find("(rank " + std::to_string(r) + " of " + std::to_string(N) + " processes)"),
                std::string::npos)
          << err;
    }
    std::printf(
        "%d processes: logits [%lld, %lld] equal %d threads' bit for bit; %.2e from --tp 1\n", N,
        static_cast<long long>(threads.dim(0)), static_cast<long long>(threads.dim(1)), N,
        test::rel_to_max(threads, one));
  }
}

TEST(TpProcesses, CpuRanksAsProcessesGiveTheLogitsOfThreads) {
  check_processes({"-m", source_path("tests/golden/text/l2s1_hd16_b8/released")},
                  "3 141 59 26 5 35 89 79 32 38 46 26 43 38 32 79 50 28 8 41 97 169 39 9 37",
                  {2, 4});
}

TEST(TpProcesses, WithAnImageInThePrompt) {
  check_processes({"-m", source_path("assets/models/tiny-random"), "--image",
                   source_path("tests/golden/vision/images/rgb_tiny_20x15.png")},
                  "10 20 3005 30 40", {2});
}

TEST(TpProcesses, GenerateOnEveryRankPrintsTheIdsOfOneRank) {
  const std::string dir = test::temp_dir("tp-procs-gen");
  test::write_text(dir + "/ids.txt", "10 20 30 40 50 60");
  const std::vector<std::string> args = {"generate", "--ids",       dir + "/ids.txt", "-n",
                                         "16",       "--print-ids", "--ignore-eos"};
  std::vector<std::string> one_args = args;
  one_args.insert(one_args.end(), {"--device", "cpu"});
  const auto one = test::run_cli(one_args);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(run_ranks(dir, 2, args, false), 0) << test::read_text(dir + "/stderr0");
  for (int r = 0; r < 2; ++r)
    EXPECT_EQ(test::read_text(dir + "/stdout" + std::to_string(r)), one.out) << "rank " << r;
}

TEST(TpProcesses, ARankOutsideTheGroupIsRefused) {
  const std::string dir = test::temp_dir("tp-procs-bad");
  test::write_text(dir + "/ids.txt", "1 2 3");
  const auto r = test::run_cli({"logits", "--ids", dir + "/ids.txt", "-o", dir + "/o.safetensors",
                                "--tp", "2", "--rank", "2", "--rendezvous", dir + "/sock"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--rank 2 is outside --tp 2"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mvl
