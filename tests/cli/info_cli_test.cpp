// `minimax-vl info` end to end: the bundled tiny checkpoint (released layout) lists zero
// missing tensors; a copy with one tensor removed or reshaped names exactly that tensor and
// exits 3; the native layout, --json, config-only plans and bad input behave.
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>

#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

namespace fs = std::filesystem;
using test::run_cli;

const std::string kTiny = "assets/models/tiny-random";

std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> r;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l.find(needle) != std::string::npos) r.push_back(l);
  return r;
}

// Copies the non-weight files of `src` to a temp dir and writes its tensors, after `edit`,
// as one model.safetensors.
std::string edited_copy(const std::string& src, const std::function<void(std::map<std::string, Tensor>&)>& edit) {
  const std::string dir = test::temp_dir("info-edit");
  for (const auto& e : fs::directory_iterator(src)) {
    const std::string ext = e.path().extension().string();
    if (ext == ".safetensors" || e.path().filename() == "model.safetensors.index.json") continue;
    fs::copy_file(e.path(), fs::path(dir) / e.path().filename());
  }
  const Checkpoint ck = Checkpoint::open(src);
  std::map<std::string, Tensor> ts;
  for (const auto& n : ck.names()) ts[n] = ck.get(n);
  edit(ts);
  SafetensorsWriter w;
  for (const auto& [n, t] : ts) w.add(n, t);
  w.write(dir + "/model.safetensors");
  return dir;
}

TEST(InfoCli, DefaultModelIsTheTinyDocumentModelWithNothingMissing) {
  const auto r = run_cli({"info"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("tiny-docs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("expected"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("found: OK (0 missing, 0 unexpected, 0 wrong shape, 0 wrong dtype)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("8 layers (7 lightning + 1 softmax)"), std::string::npos) << r.out;
}

TEST(InfoCli, BundledTinyModelHasZeroMissingTensors) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"info", "-m", kTiny}}) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("121 expected, 121 found: OK (0 missing, 0 unexpected, 0 wrong shape, 0 wrong dtype)"),
              std::string::npos)
        << r.out;
    EXPECT_TRUE(lines_with(r.out, "  missing").empty());
    EXPECT_NE(r.out.find("MiniMaxVL01ForConditionalGeneration"), std::string::npos);
    EXPECT_NE(r.out.find("4 layers (3 lightning + 1 softmax)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("bf16"), std::string::npos);
    EXPECT_NE(r.out.find("memory plan"), std::string::npos);
    EXPECT_TRUE(r.err.empty()) << r.err;
  }
}

TEST(InfoCli, NamesExactlyTheRemovedTensor) {
  const std::string gone = "language_model.model.layers.3.self_attn.o_proj.weight";
  const std::string dir = edited_copy(kTiny, [&](auto& ts) { ASSERT_EQ(ts.erase(gone), 1u); });
  const auto r = run_cli({"info", "-m", dir});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  const auto missing = lines_with(r.out, "  missing ");
  ASSERT_EQ(missing.size(), 1u) << r.out;
  EXPECT_NE(missing[0].find(gone + " [64, 64]"), std::string::npos) << missing[0];
  EXPECT_TRUE(lines_with(r.out, "wrong shape  ").empty());
  EXPECT_TRUE(lines_with(r.out, "unexpected   ").empty());
  EXPECT_NE(r.err.find("minimax-vl: error: checkpoint '" + dir + "' does not match its config: 1 missing"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(InfoCli, NamesExactlyTheReshapedTensor) {
  const std::string name = "language_model.model.layers.1.block_sparse_moe.experts.2.w2.weight";
  const std::string dir = edited_copy(kTiny, [&](auto& ts) { ts[name] = ts.at(name).view({96, 64}); });
  const auto r = run_cli({"info", "-m", dir});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const auto wrong = lines_with(r.out, "wrong shape  ");
  ASSERT_EQ(wrong.size(), 1u) << r.out;
  EXPECT_NE(wrong[0].find(name + ": expected [64, 96], found [96, 64]"), std::string::npos) << wrong[0];
  EXPECT_TRUE(lines_with(r.out, "  missing ").empty());
  EXPECT_NE(r.err.find("1 wrong shape"), std::string::npos) << r.err;
}

TEST(InfoCli, NativeLayoutCompleteAndWithOneTensorRemoved) {
  const std::string dir = test::temp_dir("info-native");
  auto mk = run_cli({"make-tiny", "--out", dir, "--layout", "native", "--tokenizer", kTiny + "/tokenizer.json"});
  ASSERT_EQ(mk.exit_code, 0) << mk.err;
  const auto ok = run_cli({"info", "-m", dir});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("(native layout)"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("config: native layout"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("0 missing, 0 unexpected"), std::string::npos) << ok.out;
  const std::string gone = "model.language_model.layers.0.mlp.experts.gate_up_proj";
  const std::string cut = edited_copy(dir, [&](auto& ts) { ASSERT_EQ(ts.erase(gone), 1u); });
  const auto r = run_cli({"info", "-m", cut});
  EXPECT_EQ(r.exit_code, 3);
  const auto missing = lines_with(r.out, "  missing ");
  ASSERT_EQ(missing.size(), 1u) << r.out;
  EXPECT_NE(missing[0].find(gone + " [4, 192, 64]"), std::string::npos) << missing[0];
}

TEST(InfoCli, UnexpectedTensorIsNamed) {
  const std::string extra = "language_model.model.layers.0.self_attn.q_proj.weight";
  const std::string dir =
      edited_copy(kTiny, [&](auto& ts) { ts[extra] = Tensor::empty({64, 64}, DType::bf16); });
  const auto r = run_cli({"info", "-m", dir});
  EXPECT_EQ(r.exit_code, 3);
  const auto un = lines_with(r.out, "unexpected   ");
  ASSERT_EQ(un.size(), 1u) << r.out;
  EXPECT_NE(un[0].find(extra), std::string::npos);
}

TEST(InfoCli, JsonReport) {
  const auto r = run_cli({"info", "-m", kTiny, "--json", "--gpus", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = json::parse(r.out, "info --json");
  EXPECT_TRUE(j["inventory"]["ok"].get<bool>());
  EXPECT_EQ(j["inventory"]["expected"], 121);
  EXPECT_EQ(j["inventory"]["missing"].size(), 0u);
  EXPECT_EQ(j["memory_plan"]["gpus"], 2);
  EXPECT_EQ(j["memory_plan"]["devices"].size(), 2u);
  EXPECT_EQ(j["memory_plan"]["experts_per_device"], 2);
  EXPECT_EQ(j["dtypes"]["bf16"]["tensors"], 121);
  EXPECT_EQ(j["parameters"]["total"].get<int64_t>(),
            j["parameters"]["text"].get<int64_t>() + j["parameters"]["vision"].get<int64_t>() +
                j["parameters"]["projector"].get<int64_t>());
  EXPECT_EQ(j["dtypes"]["bf16"]["bytes"].get<int64_t>() / 2, j["parameters"]["total"].get<int64_t>());
}

TEST(InfoCli, ReleasedConfigOnlyPlan) {
  const auto r = run_cli({"info", "-m", "configs/minimax-vl-01.json", "--gpus", "8"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("80 layers (70 lightning + 10 softmax)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("total 456.44 B"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("active per token 45.94 B"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("none found (config only)"), std::string::npos);
  EXPECT_NE(r.out.find("gpu 0-7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("KV cache 5.0 KiB/token"), std::string::npos) << r.out;
}

TEST(InfoCli, BadInputExitsWithOneLine) {
  const auto g = run_cli({"info", "-m", kTiny, "--gpus", "3"});
  EXPECT_EQ(g.exit_code, 2);
  EXPECT_NE(g.err.find("--tp 3"), std::string::npos) << g.err;
  const auto m = run_cli({"info", "-m", "/no/such/model"});
  EXPECT_EQ(m.exit_code, 3);
  EXPECT_NE(m.err.find("minimax-vl: error: model directory '/no/such/model' does not exist"), std::string::npos)
      << m.err;
  EXPECT_EQ(std::count(m.err.begin(), m.err.end(), '\n'), 1);
  // A truncated shard is named with the problem.
  const std::string dir = edited_copy(kTiny, [](auto&) {});
  const std::string st = dir + "/model.safetensors";
  fs::resize_file(st, fs::file_size(st) - 100);
  const auto t = run_cli({"info", "-m", dir});
  EXPECT_EQ(t.exit_code, 3);
  EXPECT_NE(t.err.find(st), std::string::npos) << t.err;
  EXPECT_NE(t.err.find("file truncated?"), std::string::npos) << t.err;
}

}  // namespace
}  // namespace mvl
