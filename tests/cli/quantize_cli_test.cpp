// `minimax-vl quantize`: on a sharded tiny checkpoint it writes the same shards (plus index,
// config with quantization_config, tokenizer), and `logits` on the output equals `logits
// --quant FORMAT` on the source byte for byte; a truncated or missing scale tensor makes
// loading exit 3 with one line naming it; a non-empty output dir, bf16 or a quantized source
// are refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>

#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

namespace fs = std::filesystem;
using test::run_cli;

std::string make_tiny() {
  const std::string dir = test::temp_dir("quantize_src");
  const auto r = run_cli({"make-tiny", "--out", dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir;
}

std::string ids_file() {
  const std::string p = test::temp_dir("quantize_ids") + "/ids.txt";
  test::write_text(p, "1 5 9 200 17 3 42 8 8 11");
  return p;
}

TEST(QuantizeCli, RoundTripLogitsMatchQuantAtLoad) {
  const std::string src = make_tiny(), ids = ids_file();
  for (const char* q : {"int8", "int8-experts", "fp8-experts", "int4-experts"}) {
    const std::string out = test::temp_dir("quantize_out") + "/q";
    const auto r = run_cli({"quantize", "-m", src, "-o", out, "--quant", q});
    ASSERT_EQ(r.exit_code, 0) << q << ": " << r.err;
    std::printf("%s", r.out.c_str());
    size_t shards = 0;
    for (const auto& e : fs::directory_iterator(src))
      if (e.path().extension() == ".safetensors") {
        ++shards;
        EXPECT_TRUE(fs::exists(fs::path(out) / e.path().filename())) << e.path();
      }
    EXPECT_GE(shards, 2u);
    EXPECT_TRUE(fs::exists(fs::path(out) / "model.safetensors.index.json"));
    EXPECT_TRUE(fs::exists(fs::path(out) / "tokenizer.json"));
    const auto cfg = json::parse_file(out + "/config.json");
    EXPECT_EQ(cfg["quantization_config"]["scheme"], q);
    const std::string a = test::temp_dir("quantize_lg") + "/a.safetensors";
    const std::string b = test::temp_dir("quantize_lg") + "/b.safetensors";
    const auto ra = run_cli({"logits", "-m", src, "--quant", q, "--ids", ids, "-o", a});
    ASSERT_EQ(ra.exit_code, 0) << ra.err;
    const auto rb = run_cli({"logits", "-m", out, "--ids", ids, "-o", b});
    ASSERT_EQ(rb.exit_code, 0) << rb.err;
    const Tensor la = SafetensorsFile::open(a)->get("logits");
    const Tensor lb = SafetensorsFile::open(b)->get("logits");
    ASSERT_EQ(la.shape(), lb.shape());
    EXPECT_EQ(std::memcmp(la.data(), lb.data(), la.nbytes()), 0) << q;
    const auto plain = run_cli({"logits", "-m", src, "--ids", ids, "-o", a});
    ASSERT_EQ(plain.exit_code, 0);
    EXPECT_NE(std::memcmp(SafetensorsFile::open(a)->get("logits").data(), lb.data(), la.nbytes()),
              0)
        << q << ": the quantized logits equal bf16's; nothing was quantized";
    // Quantizing a quantized checkpoint is refused (exit 3, says why).
    const auto again = run_cli({"quantize", "-m", out, "-o", out + "2", "--quant", q});
    EXPECT_EQ(again.exit_code, 3) << again.err;
    EXPECT_NE(again.err.find("already quantized"), std::string::npos) << again.err;
  }
}

// Rewrites the shard holding `name` with `edit` applied to its tensors.
void edit_shard(const std::string& dir, const std::string& name,
                const std::function<void(std::map<std::string, Tensor>&)>& edit) {
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".safetensors") continue;
    const auto f = SafetensorsFile::open(e.path().string());
    if (!f->find(name)) continue;
    std::map<std::string, Tensor> ts;
    for (const auto& ti : f->tensors()) ts[ti.name] = contiguous(f->get(ti.name));
    edit(ts);
    SafetensorsWriter w;
    for (const auto& [n, t] : ts) w.add(n, t);
    w.write(e.path().string());
    return;
  }
  FAIL() << name << " not found in " << dir;
}

TEST(QuantizeCli, TruncatedOrMissingScaleExits3) {
  const std::string src = make_tiny(), ids = ids_file();
  const std::string w = "language_model.model.layers.1.block_sparse_moe.experts.0.w2.weight";
  for (int kind = 0; kind < 2; ++kind) {
    const std::string out = test::temp_dir("quantize_bad") + "/q";
    ASSERT_EQ(run_cli({"quantize", "-m", src, "-o", out, "--quant", "int8-experts"}).exit_code, 0);
    edit_shard(out, w + "_scale", [&](auto& ts) {
      if (kind == 0) {
        const Tensor s = ts[w + "_scale"];
        ts[w + "_scale"] = contiguous(s.slice(0, 0, s.dim(0) - 1));
      } else {
        ts.erase(w + "_scale");
      }
    });
    if (kind == 1) {  // keep the index consistent with the shards
      auto idx = json::parse_file(out + "/model.safetensors.index.json");
      idx["weight_map"].erase(w + "_scale");
      test::write_text(out + "/model.safetensors.index.json", idx.dump());
    }
    const auto r = run_cli({"logits", "-m", out, "--ids", ids, "-o", out + "/l.safetensors"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("'" + w + "_scale'"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    std::printf("%s", r.err.c_str());
  }
}

TEST(QuantizeCli, Refusals) {
  const std::string src = make_tiny();
  const std::string busy = test::temp_dir("quantize_busy");
  test::write_text(busy + "/x", "x");
  EXPECT_EQ(run_cli({"quantize", "-m", src, "-o", busy, "--quant", "int8"}).exit_code, 4);
  EXPECT_EQ(run_cli({"quantize", "-m", src, "-o", busy + "/n", "--quant", "bf16"}).exit_code, 2);
  EXPECT_EQ(
      run_cli({"quantize", "-m", src + "/nope", "-o", busy + "/n", "--quant", "int8"}).exit_code,
      3);
}

}  // namespace
}  // namespace mvl
