// `minimax-vl info --quant`: the released config's int8 plan on 8 GPUs fits H100-80GB (the
// fit table lists 8 for int8 and no H100 count for bf16), --json carries the same rows, and an
// unknown format exits 2 naming the choices. `ask --quant int8` on the bundled tiny model loads
// the quantized weights and answers; an unknown --quant is a usage error there too.
#include <gtest/gtest.h>

#include "kernels/core/json.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using test::run_cli;

TEST(InfoQuantCli, ReleasedInt8FitsEightH100) {
  const auto r =
      run_cli({"info", "-m", "configs/minimax-vl-01.json", "--gpus", "8", "--quant", "int8"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::printf("%s", r.out.substr(r.out.find("memory plan")).c_str());
  EXPECT_NE(r.out.find("weights int8"), std::string::npos) << r.out;
  const auto j = json::Json::parse(run_cli({"info", "-m", "configs/minimax-vl-01.json", "--gpus",
                                            "8", "--quant", "int8", "--json"})
                                       .out);
  EXPECT_EQ(j["memory_plan"]["quant"], "int8");
  int checked = 0;
  for (const auto& row : j["fits"]["rows"]) {
    const auto h100 = row["fits"]["H100-80GB"].get<std::vector<int>>();
    const bool eight = std::find(h100.begin(), h100.end(), 8) != h100.end();
    if (row["quant"] == "int8") {
      EXPECT_TRUE(eight) << row.dump();
      ++checked;
    }
    if (row["quant"] == "bf16") {
      EXPECT_TRUE(h100.empty()) << row.dump();
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6);  // 3 contexts x {int8, bf16}
  EXPECT_LT(j["memory_plan"]["devices"][0]["total"].get<uint64_t>(), uint64_t{80} << 30);
}

TEST(InfoQuantCli, UnknownFormatExits2) {
  const auto r = run_cli({"info", "-m", "configs/minimax-vl-01.json", "--quant", "int3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("int8-experts"), std::string::npos) << r.err;
}

TEST(InfoQuantCli, AskWithQuantAtLoad) {
  const std::string tiny = test::source_path("assets/models/tiny-random");
  for (const char* q : {"int8", "int4-experts"}) {
    const auto r = run_cli({"ask", "-m", tiny, "--quant", q, "-n", "6", "Hello"});
    EXPECT_EQ(r.exit_code, 0) << q << ": " << r.err;
    EXPECT_FALSE(r.out.empty()) << q;
    std::printf("ask --quant %s: %s", q, r.out.c_str());
  }
  const auto bad = run_cli({"ask", "-m", tiny, "--quant", "int3", "Hello"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

}  // namespace
}  // namespace mvl
