// Cutting one rank's slices out of the full (mapped) tensor table and placing them.
#include "llm/parallel/sharded_weights.h"

#include <algorithm>

#include "kernels/ops/moe.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::llm {

namespace {
class Placer {
 public:
  Placer(const ops::DeviceContext& dev, ShardLoadStats& s) : dev_(dev), s_(s) {}

  // A slice (any strides) onto the rank's device: a view when the CPU can use it as it is,
  // else one contiguous copy (host staging for a GPU, freed right after the upload).
  Tensor operator()(const Tensor& slice) {
    if (!slice.defined()) return slice;
    s_.largest_slice = std::max<uint64_t>(s_.largest_slice, slice.nbytes());
    if (!dev_.is_cuda()) {
      if (slice.is_contiguous()) {
        s_.view_bytes += slice.nbytes();
        return slice;
      }
      s_.copied_bytes += slice.nbytes();
      return contiguous(slice);
    }
    uint64_t staged = 0;
    Tensor host = slice;
    if (!slice.is_contiguous()) {
      host = contiguous(slice);
      staged += host.nbytes();
    }
    if (host.dtype() == DType::f32 || host.dtype() == DType::f16)
      staged += host.nbytes() / 2;  // bf16 cast
    s_.staging_peak = std::max(s_.staging_peak, staged);
    Tensor d = ops::to_device_weight(host, dev_);
    s_.copied_bytes += d.nbytes();
    return d;
  }

 private:
  const ops::DeviceContext& dev_;
  ShardLoadStats& s_;
};
}  // namespace

TextWeights shard_text_weights(const TextWeights& full, const TextConfig& cfg, const ShardPlan& p,
                               const ops::DeviceContext& dev, ShardLoadStats* stats) {
  ShardLoadStats local;
  ShardLoadStats& st = stats ? *stats : local;
  Placer place(dev, st);
  const int64_t dh = cfg.head_dim, h0 = p.head0, h1 = p.head1;
  TextWeights w;
  w.embed_tokens = place(full.embed_tokens.slice(0, p.vocab0, p.vocab1));
  w.lm_head = full.lm_head.data() == full.embed_tokens.data() &&
                      full.lm_head.shape() == full.embed_tokens.shape()
                  ? w.embed_tokens
                  : place(full.lm_head.slice(0, p.vocab0, p.vocab1));
  w.norm = place(full.norm);
  for (const LayerWeights& f : full.layers) {
    LayerWeights l;
    l.kind = f.kind;
    l.input_layernorm = place(f.input_layernorm);
    l.post_attention_layernorm = place(f.post_attention_layernorm);
    if (f.kind == AttnKind::lightning) {
      const LightningWeights& a = f.lightning;
      l.lightning.qkv_proj =
          place(a.qkv_proj.slice(0, h0 * 3 * dh, h1 * 3 * dh));  // per-head interleaved rows
      l.lightning.output_gate = place(a.output_gate.slice(0, h0 * dh, h1 * dh));
      l.lightning.out_proj = place(a.out_proj.slice(1, h0 * dh, h1 * dh));
      l.lightning.norm = place(a.norm);  // whole: the norm spans every head (gathered output)
      const Tensor slopes = contiguous(a.slopes.slice(0, h0, h1));
      l.lightning.slopes = dev.is_cuda() ? ops::to_device(slopes, dev) : slopes;
    } else {
      const SoftmaxWeights& a = f.softmax;
      l.softmax.q_proj = place(a.q_proj.slice(0, h0 * dh, h1 * dh));
      l.softmax.k_proj = place(a.k_proj.slice(0, p.kv0 * dh, p.kv1 * dh));
      l.softmax.v_proj = place(a.v_proj.slice(0, p.kv0 * dh, p.kv1 * dh));
      l.softmax.o_proj = place(a.o_proj.slice(1, h0 * dh, h1 * dh));
    }
    l.gate = place(f.gate);  // the router is replicated: every rank routes every token
    std::vector<ops::ExpertWeights> mine;
    for (int64_t e = p.expert0; e < p.expert1; ++e) {
      const ops::ExpertWeights& x = f.experts[static_cast<size_t>(e)];
      if (dev.is_cuda()) {
        mine.push_back(x);  // pack_experts uploads them one at a time
        st.largest_slice = std::max<uint64_t>(st.largest_slice, x.w1.nbytes());
      } else {
        mine.push_back({place(x.w1), place(x.w3), place(x.w2)});
      }
    }
    l.packed = ops::pack_experts(mine, dev, &l.experts);
    if (dev.is_cuda())
      for (const auto& x : l.experts)
        st.copied_bytes += x.w1.nbytes() + x.w3.nbytes() + x.w2.nbytes();
    w.layers.push_back(std::move(l));
  }
  return w;
}

}  // namespace mvl::llm
