// Lightning attention layer (spec §6.4): SiLU on the per-head interleaved qkv projection,
// decayed linear attention with an f32 state, one RMSNorm over all heads (eps from the
// config, 1e-6 released), sigmoid gate computed from the layer input, output projection.
#include "llm/layers/layers.h"

#include "kernels/ops/activation.h"
#include "kernels/ops/lightning.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/rms_norm.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::llm {

Tensor lightning_attention(const LightningWeights& w, const TextConfig& cfg, const Tensor& a, Tensor& state) {
  const int64_t n = a.dim(0), nh = cfg.num_attention_heads, dh = cfg.head_dim;
  // [n, nh*3*dh] -> [n, nh, 3*dh]: row h*3dh + part*dh + d (interleaved per head, spec §1.4).
  const Tensor qkv = ops::activation(ops::linear(a, w.qkv_proj), cfg.hidden_act).view({n, nh, 3 * dh});
  const Tensor q = qkv.slice(2, 0, dh), k = qkv.slice(2, dh, 2 * dh), v = qkv.slice(2, 2 * dh, 3 * dh);
  const Tensor o = n == 1 ? ops::lightning_recurrent(q, k, v, w.slopes, state)
                          : ops::lightning_blockwise(q, k, v, w.slopes, state, cfg.block_size);
  // sigmoid(a W_gate^T) * RMSNorm(o): one fused kernel for bf16 activations on a GPU.
  const Tensor y = ops::gated_rms_norm(o.view({n, nh * dh}), w.norm, static_cast<float>(cfg.lightning_norm_eps),
                                       ops::linear(a, w.output_gate));
  return ops::linear(y, w.out_proj);
}

}  // namespace mvl::llm
