// ShardedTextModel: per-rank weights/contexts, the lockstep worker threads, and the decoder
// stack of TextModel::forward with the sharded sub-blocks (sharded_layers.h).
#include "llm/parallel/sharded_text_model.h"

#include <string>

#include "kernels/comm/device_thread.h"
#include "kernels/comm/local_comm.h"
#include "kernels/comm/nccl_comm.h"
#include "kernels/comm/rank_workers.h"
#include "kernels/core/error.h"
#include "kernels/ops/rms_norm.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/parallel/sharded_layers.h"
#include "llm/weights/random_weights.h"

namespace mvl::llm {

namespace {
// Trace callbacks always see f32 (as TextModel's).
void emit(const TraceFn& trace, const std::string& name, const Tensor& t) {
  if (trace) trace(name, t.dtype() == DType::f32 ? t : ops::cast(t, DType::f32));
}
}  // namespace

ShardedState ShardedState::clone() const {
  std::vector<SequenceState> c;
  for (const auto& s : ranks_) c.push_back(s.clone());
  return ShardedState(std::move(c));
}

ShardedState::Snapshot ShardedState::snapshot() const {
  Snapshot s;
  s.position = position();
  for (const auto& r : ranks_) s.ranks.push_back(r.snapshot());
  return s;
}

void ShardedState::restore(const Snapshot& s) {
  MVL_CHECK(s.ranks.size() == ranks_.size(), invalid_argument,
            "snapshot of {} ranks restored into a state of {}", s.ranks.size(), ranks_.size());
  for (size_t r = 0; r < ranks_.size(); ++r) ranks_[r].restore(s.ranks[r]);
}

struct ShardedTextModel::Impl {
  TextConfig cfg;
  ops::Precision precision = ops::Precision::f32;
  std::vector<TextWeights> weights;
  std::vector<RankContext> ranks;
  comm::CommGroup comms;
  std::unique_ptr<comm::RankWorkers> workers;

  DType act() const { return ops::activation_dtype(precision); }

  // TextModel::forward on one rank: x act [n, H] replicated -> final-normed act [n, H].
  // trace (rank 0 passes it; activations are replicated) sees TextModel's names, in f32, and
  // turns the fused residual+norm steps off exactly as TextModel does, so traces compare.
  Tensor forward(const RankContext& rc, Tensor x, SequenceState& st, const TraceFn& trace) const {
    const TextWeights& w = *rc.w;
    const float eps = static_cast<float>(cfg.rms_norm_eps);
    const int64_t L = cfg.num_hidden_layers;
    const bool fuse = cfg.postnorm && !trace;
    emit(trace, "embed", x);
    Tensor a = ops::rms_norm(x, L > 0 ? w.layers[0].input_layernorm : w.norm, eps);
    for (int64_t l = 0; l < L; ++l) {
      const LayerWeights& lw = w.layers[static_cast<size_t>(l)];
      const bool lightning = lw.kind == AttnKind::lightning;
      const Tensor att = lightning ? sharded_lightning(rc, l, a, st.lightning_state(l))
                                   : sharded_softmax(rc, l, a, st);
      emit(trace, "layer." + std::to_string(l) + ".attn", att);
      const float aa = static_cast<float>(lightning ? cfg.linear_attn_alpha : cfg.full_attn_alpha);
      const float ab = static_cast<float>(lightning ? cfg.linear_attn_beta : cfg.full_attn_beta);
      Tensor y, b;
      if (cfg.postnorm) {
        b = ops::residual_rms_norm(a, aa, att, ab, lw.post_attention_layernorm, eps);
      } else {
        y = ops::axpby(x, aa, att, ab);
        b = ops::rms_norm(y, lw.post_attention_layernorm, eps);
      }
      const Tensor m = sharded_moe(rc, l, b);
      const Tensor& next_norm =
          l + 1 < L ? w.layers[static_cast<size_t>(l + 1)].input_layernorm : w.norm;
      const float ma = static_cast<float>(cfg.mlp_alpha), mb = static_cast<float>(cfg.mlp_beta);
      if (fuse) {
        a = ops::residual_rms_norm(b, ma, m, mb, next_norm, eps);
      } else {
        x = ops::axpby(cfg.postnorm ? b : y, ma, m, mb);
        emit(trace, "layer." + std::to_string(l) + ".hidden", x);
        a = ops::rms_norm(x, next_norm, eps);
      }
    }
    st.advance(a.dim(0));
    emit(trace, "final_norm", a);
    return a;
  }

  // The prompt's rows on rank rc: token runs through the split embedding, embedding rows
  // copied to the rank's device (replicated).
  Tensor embed(const RankContext& rc, const std::vector<Segment>& segments) const {
    std::vector<Tensor> rows;
    for (size_t i = 0; i < segments.size(); ++i) {
      const Segment& s = segments[i];
      if (s.embeddings.defined()) {
        if (s.embeddings.dim(0) == 0) continue;
        Tensor r = s.embeddings.device() == rc.dev.device() ? s.embeddings
                                                            : ops::to_device(s.embeddings, rc.dev);
        rows.push_back(r.dtype() == act() ? r : ops::cast(r, act()));
      } else if (!s.ids.empty()) {
        rows.push_back(sharded_embedding(rc, s.ids, act()));
      }
    }
    return rows.size() == 1 ? ops::clone(rows[0]) : ops::concat_rows(rows);
  }
};

ShardedTextModel ShardedTextModel::load(const Checkpoint& ckpt, const TextConfig& cfg,
                                        const TextWeightNaming& naming, int tp,
                                        const ShardedLoadOptions& opts,
                                        std::vector<ShardLoadStats>* stats) {
  const QuantScheme quant = opts.text.quant, stored = opts.text.stored_quant;
  MVL_CHECK(stored == QuantScheme::none || quant == QuantScheme::none || quant == stored,
            unsupported,
            "the checkpoint is already quantized ({}); drop --quant {} or quantize the bf16 "
            "checkpoint instead",
            quant_scheme_name(stored), quant_scheme_name(quant));
  // Each rank walks the tensor table and reads only its slices of the mapped files (stored
  // codes and scales included).
  return build(
      [&](int, const ShardPlan& p, const ops::DeviceContext& dev, ShardLoadStats* st) {
        return shard_text_weights(checkpoint_source(ckpt, stored), cfg, naming, p, dev, st,
                                  stored == QuantScheme::none ? quant : QuantScheme::none);
      },
      cfg, tp, opts, stats);
}

ShardedTextModel ShardedTextModel::random(const TextConfig& cfg, int tp, uint64_t seed,
                                          const ShardedLoadOptions& opts,
                                          std::vector<ShardLoadStats>* stats) {
  return build(
      [&](int, const ShardPlan& p, const ops::DeviceContext& dev, ShardLoadStats* st) {
        return shard_text_weights(random_text_source(cfg, dev, seed), cfg,
                                  TextWeightNaming::native_vl(), p, dev, st, opts.text.quant);
      },
      cfg, tp, opts, stats);
}

ShardedTextModel ShardedTextModel::from_weights(const TextWeights& full, const TextConfig& cfg,
                                                int tp, const ShardedLoadOptions& opts,
                                                std::vector<ShardLoadStats>* stats) {
  return build([&](int, const ShardPlan& p, const ops::DeviceContext& dev,
                   ShardLoadStats* st) {
                 return shard_text_weights(full, cfg, p, dev, st, opts.text.quant);
               },
               cfg, tp, opts, stats);
}

ShardedTextModel ShardedTextModel::build(const RankLoader& load_rank, const TextConfig& cfg, int tp,
                                         const ShardedLoadOptions& opts,
                                         std::vector<ShardLoadStats>* stats) {
  const std::string why = tp_size_problem(cfg, tp);
  MVL_CHECK(why.empty(), invalid_argument, "--tp {}: {}; use one of {}", tp, why,
            valid_tp_sizes(cfg));
  // The ranks this process holds: all of them, or opts.rank alone (one process per rank).
  const bool one = opts.rank >= 0;
  MVL_CHECK(!one || (opts.rank < tp && opts.join), invalid_argument,
            "rank {} of --tp {}: a rank in [0, {}) and a way to join the group are needed",
            opts.rank, tp, tp);
  const int local = one ? 1 : tp;
  auto global = [&](int i) { return one ? opts.rank : i; };
  std::vector<ops::DeviceContext> devs = opts.devices;
  if (devs.empty()) devs.assign(static_cast<size_t>(local), ops::DeviceContext());
  MVL_CHECK(static_cast<int>(devs.size()) == local, invalid_argument,
            "--tp {} needs {} devices in this process, got {}", tp, local, devs.size());
  const bool cuda = devs[0].is_cuda();
  for (const auto& d : devs)
    MVL_CHECK(d.is_cuda() == cuda, invalid_argument,
              "the ranks mix CPU and CUDA devices ({} and {})", devs[0].device().str(),
              d.device().str());
  auto impl = std::make_shared<Impl>();
  impl->cfg = cfg;
  impl->precision = ops::resolve_precision(opts.text.precision, devs[0]);
  if (stats) stats->assign(static_cast<size_t>(local), ShardLoadStats{});
  impl->weights.reserve(static_cast<size_t>(local));
  for (int i = 0; i < local; ++i) {
    const int r = global(i);
    const ShardPlan p = ShardPlan::make(cfg, r, tp);
    comm::bind_thread_to(devs[static_cast<size_t>(i)]);
    impl->weights.push_back(
        in_context(fmt::format("placing rank {}'s weights on {}", r, devs[i].device().str()), [&] {
          return load_rank(r, p, devs[static_cast<size_t>(i)],
                           stats ? &(*stats)[static_cast<size_t>(i)] : nullptr);
        }));
  }
  if (one)
    impl->comms.push_back(opts.join());
  else
    impl->comms = cuda ? comm::NcclComm::create_all(devs) : comm::make_local_group(tp);
  MVL_CHECK(impl->comms[0]->size() == tp && impl->comms[0]->rank() == global(0), invalid_argument,
            "the communicator is rank {} of {}, but the model wants rank {} of {}",
            impl->comms[0]->rank(), impl->comms[0]->size(), global(0), tp);
  for (int i = 0; i < local; ++i) {
    RankContext rc;
    rc.plan = ShardPlan::make(cfg, global(i), tp);
    rc.cfg = cfg;
    rc.local_cfg = rc.plan.local_config(cfg);
    rc.w = &impl->weights[static_cast<size_t>(i)];
    rc.dev = devs[static_cast<size_t>(i)];
    rc.comm = impl->comms[static_cast<size_t>(i)].get();
    rc.rank_moe = opts.rank_moe;
    rc.expert_range_always = opts.expert_range_always;
    impl->ranks.push_back(rc);
  }
  Impl* raw = impl.get();
  // A failing rank makes the others' collectives fail instead of waiting for it; once all
  // have stopped, the group is made usable again where it can be (LocalComm).
  impl->workers = std::make_unique<comm::RankWorkers>(
      local, [raw](int r) { comm::bind_thread_to(raw->ranks[static_cast<size_t>(r)].dev); },
      [raw] {
        for (auto& c : raw->comms) c->abort();
      },
      [raw] {
        for (auto& c : raw->comms) c->recover();
      });
  ShardedTextModel m;
  m.impl_ = std::move(impl);
  return m;
}

int ShardedTextModel::tp() const {
  return impl_->ranks.at(0).plan.size;
}
int ShardedTextModel::local_ranks() const {
  return static_cast<int>(impl_->ranks.size());
}
const TextConfig& ShardedTextModel::config() const {
  return impl_->cfg;
}
const ShardPlan& ShardedTextModel::plan(int rank) const {
  return impl_->ranks.at(static_cast<size_t>(rank)).plan;
}
const TextWeights& ShardedTextModel::weights(int rank) const {
  return impl_->weights.at(static_cast<size_t>(rank));
}
DType ShardedTextModel::activation_dtype() const {
  return impl_->act();
}

ShardedState ShardedTextModel::new_state() const {
  std::vector<SequenceState> s;
  for (const RankContext& rc : impl_->ranks) s.emplace_back(rc.local_cfg, rc.dev, impl_->act());
  return ShardedState(std::move(s));
}

Tensor ShardedTextModel::prefill(const std::vector<Segment>& segments, ShardedState& state,
                                 const PrefillOptions& opts) const {
  MVL_CHECK(state.tp() == local_ranks(), invalid_argument,
            "a state of {} ranks given to a model of {}", state.tp(), local_ranks());
  int64_t total = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    if (s.embeddings.defined())
      MVL_CHECK(s.embeddings.ndim() == 2 && s.embeddings.dim(1) == impl_->cfg.hidden_size &&
                    (s.embeddings.dtype() == DType::f32 || s.embeddings.dtype() == DType::bf16),
                shape_mismatch,
                "prompt segment {}: embedding rows must be f32|bf16 [n, {}], got {}", i,
                impl_->cfg.hidden_size, s.embeddings.str());
    total += s.size();
  }
  MVL_CHECK(total > 0, invalid_argument, "prefill: the prompt is empty");
  Tensor result;
  impl_->workers->run([&](int r) {
    const RankContext& rc = impl_->ranks[static_cast<size_t>(r)];
    const Tensor x = impl_->embed(rc, segments);
    const int64_t n = x.dim(0), chunk = opts.chunk_size > 0 ? opts.chunk_size : n;
    const TraceFn& trace = r == 0 ? opts.trace : TraceFn();
    std::vector<Tensor> logits;
    for (int64_t c0 = 0; c0 < n; c0 += chunk) {
      const int64_t c1 = std::min(n, c0 + chunk);
      const Tensor h = impl_->forward(rc, ops::clone(x.slice(0, c0, c1)), state.rank(r), trace);
      if (opts.all_logits)
        logits.push_back(sharded_lm_head(rc, h));
      else if (c1 == n)
        logits.push_back(sharded_lm_head(rc, ops::clone(h.slice(0, h.dim(0) - 1, h.dim(0)))));
      else
        continue;
      if (trace) trace("logits", logits.back());
    }
    if (r == 0) result = logits.size() == 1 ? logits[0] : ops::concat_rows(logits);
  });
  return result;
}

Tensor ShardedTextModel::decode(int32_t token, ShardedState& state, const TraceFn& trace) const {
  MVL_CHECK(state.tp() == local_ranks(), invalid_argument,
            "a state of {} ranks given to a model of {}", state.tp(), local_ranks());
  MVL_CHECK(token >= 0 && token < impl_->cfg.vocab_size, invalid_argument,
            "decode: token {} is outside the vocabulary [0, {})", token, impl_->cfg.vocab_size);
  Tensor result;
  impl_->workers->run([&](int r) {
    const RankContext& rc = impl_->ranks[static_cast<size_t>(r)];
    const TraceFn& tr = r == 0 ? trace : TraceFn();
    const Tensor h =
        impl_->forward(rc, sharded_embedding(rc, {token}, impl_->act()), state.rank(r), tr);
    const Tensor logits = sharded_lm_head(rc, h);
    if (tr) tr("logits", logits);
    if (r == 0) result = logits.view({impl_->cfg.vocab_size});
  });
  return result;
}

}  // namespace mvl::llm
