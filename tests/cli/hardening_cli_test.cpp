// Issue 14's probe, as regression tests on the bundled tiny model: hostile model folders
// (FIFOs, /dev/zero, absurd pinpoints, tokenizer ids beyond the vocabulary, an empty EOS
// list, NaN weights), chat /load of a FIFO and /save onto a device node, hostile flags (NaN
// sampling values, out-of-range seeds), endless stdin, the bomb guard's advice, prompt/image
// budgets and codec noise on stderr. Each must end in one stderr line with the right exit
// code, quickly (a hang is killed by run_cli's alarm).
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernels/core/safetensors.h"
#include "tests/cli/cli_timeout.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using test::run_cli_timed;

constexpr int kTimeout = 120;  // seconds; every case here should take well under 10

std::string tiny() {
  return test::source_path("assets/models/tiny-random");
}
std::string sample(const std::string& n) {
  return test::source_path("assets/samples/" + n);
}
std::string golden(const std::string& n) {
  return test::source_path("tests/golden/vision/" + n);
}

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n + (!s.empty() && s.back() != '\n');
}

// A private copy of the tiny model that a test may damage.
std::string tiny_copy(const std::string& tag) {
  const std::string dir = test::temp_dir(tag) + "/m";
  fs::copy(tiny(), dir, fs::copy_options::recursive);
  return dir;
}

Json read_json(const std::string& p) {
  return Json::parse(test::read_text(p));
}
void write_json(const std::string& p, const Json& j) {
  test::write_text(p, j.dump(1));
}

test::CliResult ask(const std::string& model, std::vector<std::string> extra = {},
                    const std::string& in = "") {
  std::vector<std::string> args = {"ask", "-m", model, "-n", "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  if (in.empty()) args.push_back("hi");
  return run_cli_timed(args, in, kTimeout);
}

void expect_one_line_error(const test::CliResult& r, int code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("minimax-vl: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "want '" << needle << "' in: " << r.err;
}

// Row "a FIFO as a shard, config.json, tokenizer.json": hung before.
TEST(HardeningCli, FifoInTheModelFolderIsRefusedNotWaitedOn) {
  for (const std::string name :
       {"config.json", "tokenizer.json", "model-00001-of-00002.safetensors"}) {
    SCOPED_TRACE(name);
    const std::string m = tiny_copy("fifo");
    fs::remove(m + "/" + name);
    ASSERT_EQ(::mkfifo((m + "/" + name).c_str(), 0600), 0);
    expect_one_line_error(ask(m), 3, "is a FIFO");
  }
}

// Row "a FIFO as a ... /load file": chat's /load of a FIFO hung before. Now one line, and
// the chat goes on.
TEST(HardeningCli, ChatLoadOfAFifoIsRefusedNotWaitedOn) {
  const std::string fifo = test::temp_dir("load_fifo") + "/chat.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto r =
      run_cli_timed({"chat", "-m", tiny(), "-n", "2"}, "/load " + fifo + "\nhi\n", kTimeout);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("is a FIFO"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.out), 1) << "the turn after the refusal must be answered:\n" << r.out;
}

// Row "chat /save onto ... a device node (/dev/full as root)": the node was replaced by a
// regular file before. A node of our own (the null device's numbers) in a temp folder, so
// the old behaviour damages nothing; needs CAP_MKNOD (root), skipped otherwise.
TEST(HardeningCli, ChatSaveRefusesADeviceNode) {
  const std::string node = test::temp_dir("save_dev") + "/null.json";
  if (::mknod(node.c_str(), S_IFCHR | 0666, ::makedev(1, 3)) != 0)
    GTEST_SKIP() << "mknod needs root: " << std::strerror(errno);
  const auto r =
      run_cli_timed({"chat", "-m", tiny(), "-n", "2"}, "hi\n/save " + node + "\nagain\n", kTimeout);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;
  struct stat st {};
  ASSERT_EQ(::lstat(node.c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "the device node was replaced";
  EXPECT_EQ(count_lines(r.out), 2) << r.out;
}

// Row "config.json or tokenizer.json linked to /dev/zero": 12 GB read before.
TEST(HardeningCli, DeviceNodesAreRefusedBeforeReading) {
  for (const std::string name : {"config.json", "tokenizer.json"}) {
    SCOPED_TRACE(name);
    const std::string m = tiny_copy("devzero");
    fs::remove(m + "/" + name);
    fs::create_symlink("/dev/zero", m + "/" + name);
    expect_one_line_error(ask(m), 3, "character device");
  }
}

// Row "image_grid_pinpoints huge or overflowing": 19.8 GB allocated / UBSan overflow, and
// the error blamed the image (exit 4) instead of the config (exit 3).
TEST(HardeningCli, AbsurdPinpointsBlameTheConfig) {
  const int64_t near_2_62 = int64_t{336} * (int64_t{1} << 53);
  for (const Json& pins : {Json::parse("[[33600, 33600]]"), Json{{near_2_62, 336}, {336, 336}}}) {
    SCOPED_TRACE(pins.dump());
    const std::string m = tiny_copy("pinpoints");
    for (const char* f : {"/config.json", "/preprocessor_config.json"}) {
      Json c = read_json(m + f);
      c["image_grid_pinpoints"] = pins;
      write_json(m + f, c);
    }
    const auto r = ask(m, {"--image", sample("chart.png")});
    expect_one_line_error(r, 3, "config.json");
    EXPECT_NE(r.err.find("image_grid_pinpoints"), std::string::npos) << r.err;
  }
}

// Row "a tokenizer id far beyond the config's vocab (2^27)": exit 0 after 4.4 GB before.
TEST(HardeningCli, TokenizerIdsBeyondTheVocabAreRefusedAtLoad) {
  const std::string m = tiny_copy("tokvocab");
  Json t = read_json(m + "/tokenizer.json");
  t["added_tokens"].push_back({{"id", 1 << 27}, {"content", "<far>"}, {"special", true}});
  write_json(m + "/tokenizer.json", t);
  expect_one_line_error(ask(m), 3, "beyond the model's vocab_size 3008");

  const std::string m2 = tiny_copy("tokvocab2");
  Json t2 = read_json(m2 + "/tokenizer.json");
  t2["model"]["vocab"]["farfaraway"] = 3008;  // one past the config's vocab_size
  write_json(m2 + "/tokenizer.json", t2);
  expect_one_line_error(ask(m2), 3, "beyond the model's vocab_size");
}

// Row "\"eos_token_id\": [] in generation_config.json": vector::_M_range_check, exit 1.
TEST(HardeningCli, EmptyEosListIsAOneLineLoadError) {
  const std::string m = tiny_copy("eos");
  Json g = read_json(m + "/generation_config.json");
  g["eos_token_id"] = Json::array();
  write_json(m + "/generation_config.json", g);
  expect_one_line_error(ask(m), 3, "eos_token_id is an empty list");
  g["eos_token_id"] = 99999;  // outside the vocabulary
  write_json(m + "/generation_config.json", g);
  expect_one_line_error(ask(m), 3, "eos_token_id 99999 lies outside the vocabulary");
}

// Row "NaN sampling flags": exit 1 "temperature nan is negative" before.
TEST(HardeningCli, NonFiniteSamplingFlagsAreUsageErrors) {
  for (const std::vector<std::string> flags :
       std::vector<std::vector<std::string>>{{"--temp", "nan"},
                                             {"--temp", "inf"},
                                             {"--top-p", "nan"},
                                             {"--repeat-penalty", "nan"},
                                             {"--temp", "-nan"}}) {
    SCOPED_TRACE(flags[0] + " " + flags[1]);
    const auto r = ask(tiny(), flags);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("finite"), std::string::npos) << r.err;
  }
  const auto g = run_cli_timed({"generate", "-m", tiny(), "-p", "hi", "-n", "1", "--temp", "nan"},
                               "", kTimeout);
  EXPECT_EQ(g.exit_code, 2) << g.err;
}

// Row "--seed -1, --seed 18446744073709551616": silently clamped before.
TEST(HardeningCli, OutOfRangeSeedsAreUsageErrors) {
  for (const std::string seed : {"-1", "18446744073709551616", "1.5", "0x10", ""}) {
    SCOPED_TRACE(seed);
    const auto r = ask(tiny(), {"--seed", seed, "--temp", "1"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
  }
  const auto ok = ask(tiny(), {"--seed", "18446744073709551615", "--temp", "1"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

// Row "stdin that never ends": memory grew until std::bad_alloc before.
TEST(HardeningCli, StdinIsCapped) {
  const std::string big((64u << 20) + 1, 'y');
  const auto r = run_cli_timed({"ask", "-m", tiny(), "-n", "1", "-"}, big, kTimeout);
  expect_one_line_error(r, 4, "the prompt on stdin is longer than 64 MiB");
  const auto g = run_cli_timed({"generate", "-m", tiny(), "--ids", "-", "-n", "1"}, big, kTimeout);
  EXPECT_NE(g.exit_code, 0);
  EXPECT_NE(g.err.find("the ids on stdin is longer than 64 MiB"), std::string::npos) << g.err;
}

// Row "the bomb guard's advice": told `ask` users to pass --max-image-pixels, which only
// `preprocess` accepts.
TEST(HardeningCli, BombGuardAdviceNamesOnlyFlagsTheCommandHas) {
  const std::string bomb = golden("formats/zip_bomb_20000x20000.png");
  const auto r = ask(tiny(), {"--image", bomb});
  expect_one_line_error(r, 4, "decompression-bomb guard");
  EXPECT_EQ(r.err.find("--max-image-pixels"), std::string::npos) << r.err;
  const auto p = run_cli_timed({"preprocess", "--image", bomb}, "", kTimeout);
  expect_one_line_error(p, 4, "--max-image-pixels");
}

// Row "NaN/Inf weights": exit 0 printing "!!!!" before.
TEST(HardeningCli, NanWeightsAreReported) {
  const std::string m = tiny_copy("nanw");
  const std::string shard = m + "/model-00001-of-00002.safetensors";
  std::string norm;
  {
    auto f = SafetensorsFile::open(shard);
    SafetensorsWriter w;
    for (const auto& t : f->tensors()) {
      Tensor x = contiguous(f->get(t.name));
      if (norm.empty() && t.name.find("input_layernorm.weight") != std::string::npos &&
          x.dtype() == DType::bf16) {
        norm = t.name;
        x = Tensor::empty(x.shape(), DType::bf16);
        for (int64_t i = 0; i < x.numel(); ++i) x.data<uint16_t>()[i] = 0x7FC0;  // bf16 NaN
      }
      w.add(t.name, x);
    }
    w.write(shard + ".new");
  }
  ASSERT_FALSE(norm.empty()) << "no bf16 layernorm weight in the tiny shard";
  fs::rename(shard + ".new", shard);
  const auto r = ask(m);
  expect_one_line_error(r, 1, "non-finite logit");
  EXPECT_TRUE(r.out.empty() || r.out == "\n") << r.out;
}

// Row "a one-line 50 MB prompt; 50 large images": 2.3 GB / 30 s, or 1 GB of pixels, spent
// before the context-length error. Now the bound is checked before tokenizing, and images
// stop being decoded once one overflows.
TEST(HardeningCli, PromptAndImageBudgetsAreCheckedEarly) {
  const auto r =
      run_cli_timed({"ask", "-m", tiny(), "-n", "1", "-"}, std::string(8u << 20, 'x'), kTimeout);
  expect_one_line_error(r, 4, "the prompt needs at least");
  std::vector<std::string> args = {"--ctx-size", "2000"};
  for (int i = 0; i < 50; ++i) args.insert(args.end(), {"--image", sample("invoice.png")});
  const auto im = ask(tiny(), args);
  expect_one_line_error(im, 4, "the prompt needs at least");
}

// Row "corrupt JPEGs": libjpeg warnings on stderr for accepted files, libpng/OpenCV lines
// before our one-line error for rejected ones.
TEST(HardeningCli, CodecNoiseStaysOffStderr) {
  const std::string dir = test::temp_dir("codec_noise");
  std::string jpg = test::read_text(golden("formats/quality90.jpg"));
  ASSERT_EQ(jpg.substr(jpg.size() - 2), "\xff\xd9");
  jpg.insert(jpg.size() - 2,
             "\x12\x34\x56");  // "Corrupt JPEG data: 3 extraneous bytes before marker 0xd9"
  test::write_text(dir + "/extra.jpg", jpg);
  const auto r = run_cli_timed({"preprocess", "--image", dir + "/extra.jpg"}, "", kTimeout);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("Corrupt JPEG"), std::string::npos) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;

  // A PNG whose chunks are intact (CRCs right) but whose zlib stream is garbage: libpng
  // reports it on stderr itself.
  std::string png = test::read_text(golden("formats/gray.png"));
  const size_t idat = png.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  const uint32_t len = (uint32_t(uint8_t(png[idat - 4])) << 24) |
                       (uint32_t(uint8_t(png[idat - 3])) << 16) |
                       (uint32_t(uint8_t(png[idat - 2])) << 8) | uint8_t(png[idat - 1]);
  ASSERT_GT(len, 4u);
  for (uint32_t i = 0; i < len; ++i) png[idat + 4 + i] = static_cast<char>(0xA5 ^ i);
  uint32_t crc = 0xffffffffu;  // CRC-32 over type + data
  for (size_t i = idat; i < idat + 4 + len; ++i) {
    crc ^= uint8_t(png[i]);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  crc ^= 0xffffffffu;
  for (int k = 0; k < 4; ++k) png[idat + 4 + len + k] = static_cast<char>(crc >> (24 - 8 * k));
  test::write_text(dir + "/zlib.png", png);
  const auto p = run_cli_timed({"preprocess", "--image", dir + "/zlib.png"}, "", kTimeout);
  expect_one_line_error(p, 4, "zlib.png");
}

}  // namespace
}  // namespace mvl
