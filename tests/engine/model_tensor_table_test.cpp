// Both halves' tensor tables against the model: the released config's walk adds up to the
// model card's 456.4 B parameters (and to what `info` counts), and every tensor of the bundled
// tiny checkpoint, and of a native-layout one, appears in the table exactly once with its shape.
#include <gtest/gtest.h>

#include <map>

#include "app/engine/loading/checkpoint_layout.h"
#include "app/engine/inspect/tensor_inventory.h"
#include "app/engine/inspect/tiny_model.h"
#include "kernels/core/safetensors.h"
#include "llm/weights/tensor_table.h"
#include "tests/support/test_util.h"
#include "vision/model/tensor_table.h"

namespace mvl::engine {
namespace {

// name -> (times visited, shape) over both tables under `layout`.
std::map<std::string, std::pair<int, Shape>> walk(const ModelConfig& cfg, CheckpointLayout layout) {
  std::map<std::string, std::pair<int, Shape>> m;
  llm::for_each_text_tensor(cfg.text, text_naming(layout), [&](const llm::TextTensor& t) {
    auto& e = m[t.name];
    ++e.first;
    e.second = t.shape;
  });
  vision::for_each_vision_tensor(cfg.vision, vision_naming(layout), cfg.text.hidden_size,
                                 [&](const vision::VisionTensor& t) {
                                   auto& e = m[t.name];
                                   ++e.first;
                                   e.second = t.shape;
                                 });
  return m;
}

TEST(ModelTensorTable, ReleasedConfigHas456BParameters) {
  const ModelConfig c = ModelConfig::released();
  int64_t text = 0, vision = 0;
  size_t tensors = 0;
  llm::for_each_text_tensor(c.text, text_naming(CheckpointLayout::released),
                            [&](const llm::TextTensor& t) {
                              text += shape_numel(t.shape);
                              ++tensors;
                            });
  vision::for_each_vision_tensor(c.vision, vision_naming(CheckpointLayout::released),
                                 c.text.hidden_size, [&](const vision::VisionTensor& t) {
                                   vision += shape_numel(t.shape);
                                   ++tensors;
                                 });
  EXPECT_EQ(tensors, 8637u);                                          // spec §1.2
  EXPECT_NEAR(static_cast<double>(text + vision), 456.4e9, 0.05e9);   // docs/memory_plan.md
  EXPECT_NEAR(static_cast<double>(vision), 303.5e6 + 44.1e6, 0.1e6);  // tower + projector
  const ParamCounts p = count_params(c);
  EXPECT_EQ(p.total, text + vision);
  EXPECT_EQ(p.text, text);
  // The native layout holds the same parameters in fewer tensors.
  int64_t native = 0;
  for (const auto& [name, e] : walk(c, CheckpointLayout::native)) native += shape_numel(e.second);
  EXPECT_EQ(native, text + vision);
}

void expect_each_tensor_once(const std::string& dir, CheckpointLayout layout) {
  const ModelConfig cfg = ModelConfig::load_dir(dir);
  const Checkpoint ck = Checkpoint::open(dir);
  EXPECT_EQ(detect_layout(ck.names(), CheckpointLayout::released), layout);
  const auto table = walk(cfg, layout);
  EXPECT_EQ(table.size(), ck.names().size());
  for (const auto& n : ck.names()) {
    auto it = table.find(n);
    ASSERT_NE(it, table.end()) << n << " is not in the table";
    EXPECT_EQ(it->second.first, 1) << n;
    EXPECT_EQ(it->second.second, ck.info(n).shape) << n;
  }
}

TEST(ModelTensorTable, EachTinyModelTensorIsInTheTableOnce) {
  expect_each_tensor_once(test::source_path("assets/models/tiny-random"),
                          CheckpointLayout::released);
  TinyModelOptions o;
  o.out_dir = test::temp_dir("tiny-native-table");
  o.tokenizer_path = test::source_path("assets/models/tiny-random/tokenizer.json");
  o.layout = CheckpointLayout::native;
  write_tiny_model(o);
  expect_each_tensor_once(o.out_dir, CheckpointLayout::native);
}

}  // namespace
}  // namespace mvl::engine
