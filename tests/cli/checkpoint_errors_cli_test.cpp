// Every checkpoint problem is a model-load failure (exit 3), whichever command meets it and
// whenever it is met: here a checkpoint whose vision tower misses one tensor, through `ask`
// (the engine loads both halves up front) and through `logits`/`generate --image` (the
// parity commands load the vision half only when an image comes; that used to exit 4).
#include <gtest/gtest.h>

#include <filesystem>

#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::source_path;

constexpr int kExitLoad = 3;
constexpr int kImageId = 3005;  // `<image>` in the bundled tiny model
const std::string kDropped = "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight";

// A copy of the bundled tiny model with every tensor in one model.safetensors except `drop`.
std::string tiny_model_without(const std::string& drop) {
  const std::string src = source_path("assets/models/tiny-random");
  const std::string dir = test::temp_dir("ckpt-missing");
  for (const char* f : {"config.json", "generation_config.json", "preprocessor_config.json",
                        "tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(src + "/" + f, dir + "/" + f);
  const Checkpoint ck = Checkpoint::open(src);
  EXPECT_TRUE(ck.has(drop)) << "the tiny model no longer has " << drop;
  SafetensorsWriter w;
  for (const auto& n : ck.names())
    if (n != drop) w.add(n, ck.get(n));
  w.write(dir + "/model.safetensors");
  return dir;
}

std::string image() {
  return source_path("tests/golden/vision/images/rgb_tiny_20x15.png");
}

TEST(CheckpointErrorsCli, MissingVisionTensorExits3ThroughAsk) {
  const std::string dir = tiny_model_without(kDropped);
  const auto r = run_cli({"ask", "-m", dir, "--image", image(), "-n", "2", "what is this?"});
  EXPECT_EQ(r.exit_code, kExitLoad) << r.err;
  EXPECT_NE(r.err.find(kDropped), std::string::npos) << r.err;
}

TEST(CheckpointErrorsCli, MissingVisionTensorExits3ThroughTheParityCommands) {
  const std::string dir = tiny_model_without(kDropped);
  test::write_text(dir + "/ids.txt", "1 2 " + std::to_string(kImageId) + " 3");
  const auto l = run_cli({"logits", "-m", dir, "--ids", dir + "/ids.txt", "--image", image(), "-o",
                          dir + "/out.safetensors"});
  EXPECT_EQ(l.exit_code, kExitLoad) << l.err;
  EXPECT_NE(l.err.find(kDropped), std::string::npos) << l.err;
  const auto g = run_cli({"generate", "-m", dir, "--ids", dir + "/ids.txt", "--image", image(),
                          "-n", "1", "--print-ids"});
  EXPECT_EQ(g.exit_code, kExitLoad) << g.err;
  // The parity commands now open the checkpoint through the engine, as ask does (one road):
  // a broken checkpoint is refused at load even when this prompt has no image.
  test::write_text(dir + "/text_ids.txt", "1 2 3");
  const auto t = run_cli(
      {"logits", "-m", dir, "--ids", dir + "/text_ids.txt", "-o", dir + "/out.safetensors"});
  EXPECT_EQ(t.exit_code, kExitLoad) << t.err;
  EXPECT_NE(t.err.find(kDropped), std::string::npos) << t.err;
}

TEST(CheckpointErrorsCli, BadImageStaysAnInputError) {
  const std::string dir = test::temp_dir("ckpt-bad-image");
  test::write_text(dir + "/not_an_image.png", "hello");
  test::write_text(dir + "/ids.txt", "1 " + std::to_string(kImageId));
  const auto r = run_cli({"logits", "--ids", dir + "/ids.txt", "--image", dir + "/not_an_image.png",
                          "-o", dir + "/out.safetensors"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
}

}  // namespace
}  // namespace mvl
