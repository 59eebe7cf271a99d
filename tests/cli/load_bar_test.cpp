// The loading bar's text (app/cli/load_bar.h): sizes, durations, the rate and ETA computed from
// a LoadProgress, and the CLI drawing it by bytes with --progress (one line per 10% off a
// terminal) while --json keeps stderr free of it.
#include <gtest/gtest.h>

#include <algorithm>

#include "app/cli/load_bar.h"
#include "tests/support/test_util.h"

namespace mvl::cli {
namespace {

TEST(LoadBar, HumanSizesAndDurations) {
  EXPECT_EQ(human_bytes(900), "900 B");
  EXPECT_EQ(human_bytes(1500), "1.5 KB");
  EXPECT_EQ(human_bytes(913e9), "913.0 GB");
  EXPECT_EQ(human_duration(7.4), "0:07");
  EXPECT_EQ(human_duration(754), "12:34");
  EXPECT_EQ(human_duration(3723), "1:02:03");
}

TEST(LoadBar, LineShowsBytesRateAndEta) {
  engine::LoadProgress p;
  p.fraction = 0.5;
  p.stage = "text model";
  p.bytes_done = 1'000'000'000;
  p.bytes_total = 3'000'000'000;
  p.elapsed_ms = 2000;  // 500 MB/s, so 2 GB left take 4 s
  const std::string line = format_load_line(p, 10);
  EXPECT_NE(line.find("[#####-----]"), std::string::npos) << line;
  EXPECT_NE(line.find(" 50%"), std::string::npos) << line;
  EXPECT_NE(line.find("1.0 GB / 3.0 GB"), std::string::npos) << line;
  EXPECT_NE(line.find("500.0 MB/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 0:04"), std::string::npos) << line;
  EXPECT_NE(line.find("text model"), std::string::npos) << line;
  // Before any byte there is no rate to show.
  p.bytes_done = 0;
  EXPECT_EQ(format_load_line(p, 10).find("ETA"), std::string::npos);
}

TEST(LoadBar, ProgressFlagDrawsByBytesAndJsonStaysQuiet) {
  auto r = test::run_cli({"ask", "--progress", "-n", "1", "hello"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("loading ["), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("100%"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" / "), std::string::npos) << "no bytes in the bar:\n" << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << "carriage returns in a log";
  const auto lines = std::count(r.err.begin(), r.err.end(), '\n');
  EXPECT_GE(lines, 5) << r.err;  // several steps, not one jump
  r = test::run_cli({"ask", "--progress", "--json", "-n", "1", "hello"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("loading ["), std::string::npos) << r.err;
  // Not a terminal and no --progress: nothing.
  r = test::run_cli({"ask", "-n", "1", "hello"});
  EXPECT_EQ(r.err.find("loading ["), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mvl::cli
