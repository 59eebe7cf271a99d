// The vision tensor table: the released config gives the spec's 394 vision-side keys (CLIP
// tower, projector, image_newline) with unique names in both layouts, the model card's tower
// size, and axes that mean what the header says.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "vision/model/tensor_table.h"

namespace mvl::vision {
namespace {

std::vector<VisionTensor> walk(const VisionWeightNames& n) {
  std::vector<VisionTensor> v;
  for_each_vision_tensor(VisionConfig{}, n, 6144, [&v](const VisionTensor& t) { v.push_back(t); });
  return v;
}

TEST(VisionTensorTable, ReleasedKeysShapesAndCounts) {
  const auto ts = walk(VisionWeightNames::released());
  std::map<std::string, VisionTensor> m;
  for (const auto& t : ts) EXPECT_TRUE(m.emplace(t.name, t).second) << "duplicate " << t.name;
  EXPECT_EQ(ts.size(),
            5u + 5u + 24u * 16u);  // embeddings + pre_layrnorm, projector + newline, layers
  EXPECT_EQ(m.at("vision_tower.vision_model.embeddings.patch_embedding.weight").shape,
            (Shape{1024, 3, 14, 14}));
  EXPECT_EQ(m.at("vision_tower.vision_model.embeddings.position_embedding.weight").shape,
            (Shape{577, 1024}));
  EXPECT_EQ(m.at("vision_tower.vision_model.pre_layrnorm.bias").role, VisionRole::pre_norm);
  EXPECT_TRUE(m.at("vision_tower.vision_model.pre_layrnorm.bias").bias);
  EXPECT_EQ(m.at("vision_tower.vision_model.encoder.layers.23.mlp.fc1.weight").shape,
            (Shape{4096, 1024}));
  EXPECT_EQ(m.at("vision_tower.vision_model.encoder.layers.23.mlp.fc1.weight").layer, 23);
  EXPECT_EQ(m.at("multi_modal_projector.linear_1.weight").shape, (Shape{6144, 1024}));
  EXPECT_EQ(m.at("image_newline").role, VisionRole::image_newline);
  EXPECT_EQ(m.count("vision_tower.vision_model.post_layernorm.weight"), 0u);
  EXPECT_EQ(m.count("vision_tower.vision_model.embeddings.patch_embedding.bias"), 0u);
  int64_t tower = 0, projector = 0;
  for (const auto& t : ts) {
    (is_projector(t.role) ? projector : tower) += shape_numel(t.shape);
    EXPECT_EQ(vision_tensor_name(VisionWeightNames::released(), t.role, t.bias, t.layer), t.name);
  }
  EXPECT_NEAR(static_cast<double>(tower), 303.5e6, 0.5e6);
  EXPECT_EQ(projector, 1024 * 6144 + 6144 + 6144 * 6144 + 6144 + 6144);
}

TEST(VisionTensorTable, NativeNamesMapOneToOne) {
  const auto released = walk(VisionWeightNames::released());
  const auto native = walk(VisionWeightNames::native());
  ASSERT_EQ(released.size(), native.size());
  for (size_t i = 0; i < released.size(); ++i) {
    const std::string& r = released[i].name;
    std::string n = r == "image_newline" ? "model.image_newline" : r;
    for (auto [from, to] :
         {std::pair<std::string, std::string>{"vision_tower.vision_model.", "model.vision_tower."},
          {"multi_modal_projector.", "model.multi_modal_projector."}})
      if (n.rfind(from, 0) == 0) n = to + n.substr(from.size());
    EXPECT_EQ(native[i].name, n);
    EXPECT_EQ(native[i].shape, released[i].shape);
  }
}

TEST(VisionTensorTable, AxesMeanOutputAndInput) {
  for (const auto& t : walk(VisionWeightNames::released())) {
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.dtype, DType::bf16);
    if (t.bias) {
      EXPECT_FALSE(t.is_matrix());
    }
    if (!t.is_matrix()) continue;
    EXPECT_EQ(t.out_axis, 0);
    EXPECT_EQ(t.in_axis, 1);
    switch (t.role) {
      case VisionRole::mlp_fc1:
        EXPECT_EQ(t.shape, (Shape{4096, 1024}));
        break;
      case VisionRole::mlp_fc2:
        EXPECT_EQ(t.shape, (Shape{1024, 4096}));
        break;
      case VisionRole::projector_1:
        EXPECT_EQ(t.shape, (Shape{6144, 1024}));
        break;
      case VisionRole::projector_2:
        EXPECT_EQ(t.shape, (Shape{6144, 6144}));
        break;
      case VisionRole::patch_embedding:
        EXPECT_EQ(t.shape[1], 3);
        break;
      case VisionRole::attn_q:
      case VisionRole::attn_k:
      case VisionRole::attn_v:
      case VisionRole::attn_out:
        EXPECT_EQ(t.shape, (Shape{1024, 1024}));
        break;
      default:
        ADD_FAILURE() << vision_role_name(t.role) << " should not be a matrix";
    }
  }
}

}  // namespace
}  // namespace mvl::vision
