// Random TextWeights generated directly on the model's device, for benchmarks of the real
// model path at the released size (one layer's experts are 10.9 GB of bf16, too large for a
// random checkpoint on disk). Same structs as TextWeights::load + the CUDA upload fill:
// bf16 tensors on a GPU (slopes f32, each layer's experts packed into PackedExperts with the
// per-expert weights views into it), f32 on the CPU. Values: ops::fill_uniform_ (counter-based,
// so a seed gives the same weights on the CPU and the GPU up to the bf16 rounding).
#pragma once

#include <cstdint>
#include <functional>

#include "kernels/core/dtype.h"
#include "kernels/ops/device.h"
#include "llm/config/text_config.h"
#include "llm/weights/text_weights.h"

namespace mvl::llm {

// Every weight of cfg (cfg.layer_types gives the layer kinds; cfg.num_hidden_layers of them)
// allocated on dev and filled from seed: projections, router and embedding uniform with
// std 0.02 (|x| <= 0.0346), norm weights in [0.9, 1.1], lightning slopes as in
// TextWeights::load. A tied config shares the embedding as the LM head. With a quantization
// scheme (quant_rule.h) each tensor it picks is made as above, then quantized on its device
// (ops::quantize_weight) and the bf16 original dropped; packed experts are quantized matrices.
TextWeights random_text_weights(const TextConfig& cfg, const ops::DeviceContext& dev,
                                uint64_t seed, QuantScheme quant = QuantScheme::none);

// The full tensor of one entry of cfg's fused (TextWeightNaming::native_vl) table, made on dev
// from the derived seed random_text_weights gives that entry: what a sharded rank slices its
// part of (ShardedTextModel::random), so N ranks hold exactly random_text_weights' model.
// Unquantized; one full tensor alive per call. Throws Error{not_found} for a name outside it.
std::function<Tensor(const TextTensor&)> random_text_source(const TextConfig& cfg,
                                                           const ops::DeviceContext& dev,
                                                           uint64_t seed);

// Bytes the weights of cfg take at element size `dtype` (slopes always f32): per layer
// (its attention, norms, router and all experts) and the rest (embedding, final norm, LM head).
// With a scheme, the tensors it quantizes count their codes, scales and zero points.
int64_t text_layer_weight_bytes(const TextConfig& cfg, int64_t layer, DType dtype,
                                QuantScheme quant = QuantScheme::none);
int64_t text_global_weight_bytes(const TextConfig& cfg, DType dtype,
                                 QuantScheme quant = QuantScheme::none);

}  // namespace mvl::llm
