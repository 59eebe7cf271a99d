// The vision half end to end: preprocessed tiles -> CLIP ViT -> feature layer, CLS dropped ->
// projector -> packed embedding rows for the text model (spec §4-§5). Built by the engine,
// which supplies the tensor names (released or native) and the top-level config values.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "kernels/core/safetensors.h"
#include "kernels/core/tensor.h"
#include "kernels/ops/device.h"
#include "vision/config/vision_config.h"
#include "vision/model/clip_vit.h"
#include "vision/model/projector.h"
#include "vision/model/weight_names.h"
#include "vision/preprocess/preprocess.h"

namespace mvl::vision {

// Top-level config.json values that shape the vision path (spec §2.1).
struct VisionModelOptions {
  int64_t text_hidden = 6144;                   // projector output width
  int64_t feature_layer = -1;                   // vision_feature_layer
  std::string select_strategy = "default";      // vision_feature_select_strategy: "default" drops CLS, "full" keeps it
  std::string projector_act = "gelu";           // projector_hidden_act
  // The reference script casts pixel_values to bf16 before the ViT (spec §3.8, pitfall 13);
  // true reproduces that rounding of the inputs (the fp32 goldens leave it off).
  bool bf16_pixels = false;
  // Activation precision: f32 (exact: the CPU reference's numbers op for op, also on a GPU) or
  // bf16 (HF bf16 semantics on the tuned CUDA kernels: every op's output rounded to bf16, pixels
  // cast to bf16 first; the fast path). Unset: bf16 on a CUDA device, f32 on the CPU, as the
  // text model chooses. The CPU runs f32 only (bf16 there is refused with Error{unsupported}).
  // Either way the packed rows handed to the engine are f32.
  std::optional<DType> activations;
  // The ViT's residual adds read in its o_proj / fc2 GEMMs and fc1's activation applied in place
  // on the GEMM output (ops::linear_residual, ops::linear_act); false: linear, then add /
  // activation, op by op (the path before; benches time both).
  bool fused_epilogues = true;
};

class VisionModel {
 public:
  // device: where the model runs. A CUDA DeviceContext uploads every weight once (matrices
  // and norms as bf16, the embeddings in the activation dtype, the newline as f32); activations
  // then live on that device and the same ops:: code runs through the ops CUDA branches.
  static VisionModel load(const Checkpoint& ckpt, const VisionConfig& cfg, const VisionModelOptions& opts,
                          const VisionWeightNames& names = VisionWeightNames::released(),
                          const ops::DeviceContext& device = {});

  // pixel_values f32 [T, 3, S, S] (host or the model's device; host pixels are copied up
  // once) -> selected features f32 [T, g*g, Dv] (CLS dropped) on the model's device. All tiles
  // run together (batched attention); with bf16 activations the features are bf16 values
  // widened to f32 (exact).
  Tensor vit_features(const Tensor& pixel_values) const;
  // features f32|bf16 [T, g*g, Dv] on the model's device (host features are copied up; cast to
  // the activation dtype) -> f32 [T, g*g, text_hidden] on the model's device.
  Tensor project(const Tensor& features) const;
  // One image: host pixels -> packed rows f32 [image_tokens, text_hidden] on the model's device.
  Tensor encode(const PreprocessResult& image) const;
  // The same with a cancel check; returns an undefined Tensor when `cancelled` says so. On a
  // GPU all tiles run as one batch (the work is queued asynchronously, so checks between tiles
  // would not stop it sooner, and batching is what makes the GEMMs and attention fast); on the
  // CPU tile by tile with `cancelled` checked between tiles (same numbers: tiles are independent).
  Tensor encode(const PreprocessResult& image, const std::function<bool()>& cancelled) const;
  // The same rows at the activation dtype (bf16 | f32) on the model's device, for a text model
  // of that precision: no f32 round trip between the ViT, the projector and the packing (the
  // values equal encode()'s, which widens them exactly). after_vit, when set, runs between the
  // ViT and the projector (a benchmark's stage timer: it may wait for the device there).
  Tensor encode_rows(const PreprocessResult& image, const std::function<bool()>& cancelled,
                     const std::function<void()>& after_vit = {}) const;

  const ClipVit& vit() const { return vit_; }
  const VisionConfig& config() const { return vit_.config(); }
  const Tensor& image_newline() const { return newline_; }  // f32 [text_hidden], model's device
  const ops::DeviceContext& device() const { return dev_; }
  DType activation_dtype() const { return vit_.activation_dtype(); }  // f32 | bf16

 private:
  ClipVit vit_;
  Projector projector_;
  // pixels -> features [T, g*g, Dv] at the activation dtype (f32 when widen), batched or
  // tile by tile as encode() describes; undefined when cancelled.
  Tensor features(const PreprocessResult& image, const std::function<bool()>& cancelled, bool widen) const;
  Tensor vit_rows(const Tensor& pixel_values, bool widen) const;

  Tensor newline_;  // f32 [text_hidden]: image_newline (cast at load; bf16-rounded for bf16 activations)
  VisionModelOptions opts_;
  ops::DeviceContext dev_;  // CPU unless loaded for a GPU

  // t on the model's device (a copy only when it is elsewhere).
  Tensor on_device(const Tensor& t) const;
};

}  // namespace mvl::vision
