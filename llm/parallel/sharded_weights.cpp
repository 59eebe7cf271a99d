// Walking the text tensor table for one rank: each entry's rule picks the slice, which is
// placed on the rank's device and bound into the rank's TextWeights.
#include "llm/parallel/sharded_weights.h"

#include <algorithm>

#include "kernels/core/error.h"
#include "kernels/core/storage.h"
#include "kernels/ops/moe.h"
#include "kernels/ops/quant.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/parallel/shard_rules.h"
#include "llm/weights/quant_checkpoint.h"

namespace mvl::llm {

namespace {
class Placer {
 public:
  Placer(const ops::DeviceContext& dev, ShardLoadStats& s) : dev_(dev), s_(s) {}

  // A slice (any strides) onto the rank's device: a view when the CPU can use it as it is and
  // it pins no more memory than itself, else one contiguous copy (host staging for a GPU,
  // freed right after the upload).
  Tensor operator()(const Tensor& slice) {
    s_.largest_slice = std::max<uint64_t>(s_.largest_slice, slice.nbytes());
    if (!dev_.is_cuda()) {
      if (slice.is_contiguous() && (mapped(slice) || whole(slice))) {
        s_.view_bytes += slice.nbytes();
        return slice;
      }
      s_.copied_bytes += slice.nbytes();
      return ops::clone(slice);
    }
    if (slice.device().is_cuda()) {  // already on the device (random weights made there)
      MVL_CHECK(slice.device() == dev_.device(), unsupported,
                "a weight on {} cannot be placed on {}", slice.device().str(), dev_.device().str());
      Tensor d = slice.is_contiguous() && whole(slice) ? slice : ops::clone(slice);
      s_.copied_bytes += d.nbytes();
      return d;
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
  // A view into a memory-mapped file costs no memory until read; a view into part of a heap or
  // device tensor (a random source's full tensor) would keep all of it alive.
  static bool mapped(const Tensor& t) {
    return dynamic_cast<const MmapStorage*>(t.storage().get()) != nullptr;
  }
  static bool whole(const Tensor& t) { return t.storage() && t.nbytes() == t.storage()->size(); }

  const ops::DeviceContext& dev_;
  ShardLoadStats& s_;
};

Tensor cut(const Tensor& full, const TensorShard& s) {
  return s.axis < 0 ? full : full.slice(s.axis, s.begin, s.end);
}

// Slice s of the quantized tensor q (host or device; `name` for errors). The leading axis
// (column-parallel rows, a fused tensor's experts): a view of whole code rows and their
// scales. The input axis (row-parallel o_proj / out_proj): the codes' columns copied, each
// output channel's scale kept whole, so the slice dequantizes to exactly the columns of the
// full tensor's dequantized values (int4: only at whole groups of 128).
Tensor cut_quantized(const Tensor& q, const TensorShard& s, const std::string& name) {
  const QuantParams* p = q.quant();
  MVL_ASSERT(p != nullptr);
  if (s.axis < 0) return q;
  const int64_t in = q.dim(-1), rows = q.numel() / std::max<int64_t>(in, 1);
  if (s.axis == 0 && q.ndim() >= 2) {
    const int64_t per = rows / q.dim(0);  // code rows per index of the leading axis
    Shape shape = q.shape();
    shape[0] = s.end - s.begin;
    return ops::quant_rows(q, s.begin * per, s.end * per, shape);
  }
  MVL_CHECK(s.axis == q.ndim() - 1 && q.ndim() == 2, unsupported,
            "'{}': a quantized {} cannot be split along axis {}", name, shape_str(q.shape()),
            s.axis);
  const bool int4 = p->format == WeightFormat::int4;
  MVL_CHECK(!int4 || (s.begin % kInt4GroupSize == 0 &&
                      (s.end % kInt4GroupSize == 0 || s.end == in)),
            unsupported,
            "'{}': int4 columns [{}, {}) do not start and end at groups of {} inputs; use a "
            "--tp that splits it at whole groups",
            name, s.begin, s.end, kInt4GroupSize);
  // The codes as bytes: one per input (int8, fp8), one per two inputs (int4, low nibble first).
  const int64_t cb = int4 ? (in + 1) / 2 : in;
  const int64_t b0 = int4 ? s.begin / 2 : s.begin, b1 = int4 ? (s.end + 1) / 2 : s.end;
  const Tensor bytes(q.storage(), q.offset_bytes(), {rows, cb}, contiguous_strides({rows, cb}),
                     DType::u8);
  const Tensor c = ops::clone(bytes.slice(1, b0, b1));
  auto np = std::make_shared<QuantParams>(*p);
  if (int4) {
    const int64_t g0 = s.begin / kInt4GroupSize, g1 = int4_groups(s.end);
    np->scales = ops::clone(p->scales.slice(1, g0, g1));
    np->zeros = ops::clone(p->zeros.slice(1, g0, g1));
  }
  const Shape shape{q.dim(0), s.end - s.begin};
  return Tensor(c.storage(), c.offset_bytes(), shape, contiguous_strides(shape), q.dtype())
      .with_quant(np);
}
}  // namespace

TensorSource checkpoint_source(const Checkpoint& ckpt, QuantScheme stored) {
  return [&ckpt, stored](const TextTensor& t) {
    const WeightFormat sf = quant_format_of(t, stored);
    if (sf != WeightFormat::plain) return read_quantized_weight(ckpt, t.name, t.shape, sf);
    MVL_CHECK(ckpt.has(t.name), not_found, "tensor '{}' is missing from the checkpoint", t.name);
    Tensor v = ckpt.get(t.name);
    MVL_CHECK(v.shape() == t.shape, shape_mismatch,
              "tensor '{}' has shape {} but the config implies {}", t.name, shape_str(v.shape()),
              shape_str(t.shape));
    MVL_CHECK(v.dtype() == DType::f32 || v.dtype() == DType::bf16, unsupported,
              "tensor '{}' has dtype {}; only F32 and BF16 weights are supported", t.name,
              dtype_name(v.dtype()));
    return v;
  };
}

TextWeights shard_text_weights(const TensorSource& source, const TextConfig& cfg,
                               const TextWeightNaming& naming, const ShardPlan& p,
                               const ops::DeviceContext& dev, ShardLoadStats* stats,
                               QuantScheme quant) {
  MVL_CHECK(cfg.tie_word_embeddings || !naming.lm_head.empty(), not_found,
            "no lm_head tensor and the config does not tie it to the embedding");
  ShardLoadStats local;
  ShardLoadStats& st = stats ? *stats : local;
  Placer place(dev, st);
  TextWeights w = TextWeights::skeleton(p.local_config(cfg));
  std::vector<Tensor> w13(w.layers.size()),
      w2(w.layers.size());  // fused layouts: the rank's experts
  // An expert tensor quantized on the host (the CPU reference, as TextWeights::load does).
  auto quantize = [&](const Tensor& v, WeightFormat f, const TextTensor& t) {
    Tensor q = in_context(fmt::format("quantizing '{}' to {}", t.name, weight_format_name(f)),
                          [&] { return ops::quantize_weight(v, f); });
    if (!dev.is_cuda()) st.copied_bytes += static_cast<uint64_t>(ops::quant_code_bytes(q));
    return q;
  };
  // A quantized non-expert tensor onto the rank's device (the CPU keeps it where it is).
  auto place_quantized = [&](const Tensor& q) {
    const uint64_t b = static_cast<uint64_t>(ops::quant_code_bytes(q));
    st.largest_slice = std::max(st.largest_slice, b);
    if (!dev.is_cuda()) return q;
    st.copied_bytes += b;
    return ops::quant_to_device(q, dev);
  };
  for_each_text_tensor(cfg, naming, [&](const TextTensor& t) {
    const TensorShard s = shard_of(t, cfg, p);
    if (!s.held) return;
    ++st.tensors_read;
    const Tensor full = source(t);
    const size_t l = static_cast<size_t>(std::max<int64_t>(t.layer, 0));
    const WeightFormat f = full.quant() ? WeightFormat::plain : quant_format_of(t, quant);
    // Stored quantized (a `minimax-vl quantize` checkpoint, a quantized table): its codes and
    // scales cut as they are, no re-quantization.
    const Tensor slice = full.quant() ? cut_quantized(full, s, t.name) : cut(full, s);
    if (t.role == TextRole::experts_w13 || t.role == TextRole::experts_w2) {
      // Quantized as one stack of the rank's experts right away (per output row, so each
      // expert's codes are those of quantizing it alone, as TextWeights::load does), which
      // drops a random source's full tensor now rather than after the last layer; cut per
      // expert below (fused_expert_views), packed by pack_experts.
      (t.role == TextRole::experts_w13 ? w13 : w2)[l] =
          f != WeightFormat::plain            ? quantize(slice, f, t)
          : dev.is_cuda() || slice.quant() ? slice
                                           : place(slice);
      return;
    }
    if (s.local_expert >= 0) {
      TextTensor lt = t;
      lt.expert = s.local_expert;
      // GPU: pack_experts uploads the experts one at a time into the packed buffers.
      text_weight_slot(w, lt) = f != WeightFormat::plain           ? quantize(slice, f, t)
                                : dev.is_cuda() || slice.quant() ? slice
                                                                 : place(slice);
      return;
    }
    if (slice.quant()) {
      text_weight_slot(w, t) = place_quantized(slice);
    } else if (f != WeightFormat::plain) {
      // --quant int8's attention projections: one scale per output channel over its whole
      // input row, so a split along the input axis (o_proj, out_proj) quantizes the full
      // tensor and cuts the codes; a split along the output axis quantizes just the rows
      // (the same codes and scales). Either way the slice equals --tp 1's.
      text_weight_slot(w, t) = place_quantized(
          s.axis >= 0 && s.axis == t.in_axis ? cut_quantized(quantize(full, f, t), s, t.name)
                                             : quantize(slice, f, t));
    } else {
      text_weight_slot(w, t) = place(slice);
    }
  });
  if (cfg.tie_word_embeddings) {
    if (naming.lm_head.empty()) {
      w.lm_head = w.embed_tokens;
    } else {
      TextTensor head;
      head.role = TextRole::lm_head;
      head.name = naming.lm_head;
      head.shape = {cfg.vocab_size, cfg.hidden_size};
      head.out_axis = 0;
      head.in_axis = 1;
      w.lm_head = place(cut(source(head), shard_of(head, cfg, p)));
    }
  }
  for (size_t l = 0; l < w.layers.size(); ++l) {
    LayerWeights& y = w.layers[l];
    if (y.kind == AttnKind::lightning) {
      const Tensor slopes = contiguous(
          lightning_slopes(static_cast<int64_t>(l), cfg.num_hidden_layers, cfg.num_attention_heads)
              .slice(0, p.head0, p.head1));
      y.lightning.slopes = dev.is_cuda() ? ops::to_device(slopes, dev) : slopes;
    }
    if (naming.moe == MoeLayout::fused) y.experts = fused_expert_views(w13[l], w2[l]);
    auto bytes = [](const Tensor& x) {
      return static_cast<uint64_t>(x.quant() ? ops::quant_code_bytes(x) : x.nbytes());
    };
    for (const auto& x : y.experts)
      st.largest_slice = std::max<uint64_t>(st.largest_slice, std::max(bytes(x.w1), bytes(x.w2)));
    y.packed = ops::pack_experts(std::vector<ops::ExpertWeights>(y.experts), dev, &y.experts);
    if (dev.is_cuda()) {  // the packed copies are all that is kept: free the staged stacks now
      w13[l] = Tensor();
      w2[l] = Tensor();
    }
    if (dev.is_cuda())
      for (const auto& x : y.experts) st.copied_bytes += bytes(x.w1) + bytes(x.w3) + bytes(x.w2);
  }
  return w;
}

TextWeights shard_text_weights(const TextWeights& full, const TextConfig& cfg, const ShardPlan& p,
                               const ops::DeviceContext& dev, ShardLoadStats* stats,
                               QuantScheme quant) {
  TextWeights src = full;  // shares the tensors; text_weight_slot needs a mutable table
  const bool tied = full.lm_head.data() == full.embed_tokens.data() &&
                    full.lm_head.shape() == full.embed_tokens.shape();
  TextWeightNaming naming;  // per-expert entries, which the bound table always has
  naming.moe = MoeLayout::per_expert;
  TextConfig c = cfg;
  if (tied) {
    c.tie_word_embeddings = true;
    naming.lm_head = "";
  }
  return shard_text_weights(
      [&src](const TextTensor& t) -> Tensor { return text_weight_slot(src, t); }, c, naming, p, dev,
      stats, quant);
}

}  // namespace mvl::llm
