// The text model over N tensor-parallel ranks (llm::ShardedTextModel: CPU ranks as threads,
// or GPUs first.index .. +N-1) behind the engine's LanguageModel, so `logits --tp N` (and any
// front end given EngineOptions::tp) runs the engine's road: raw requests, the sampler where
// the logits are (rank 0's device), the same image splicing.
#include "app/engine/loading/sharded_lm.h"

#include <algorithm>

#include "app/engine/loading/checkpoint.h"
#include "kernels/comm/nccl_comm.h"
#include "kernels/comm/socket_comm.h"
#include "kernels/core/error.h"
#include "llm/parallel/sharded_text_model.h"

namespace mvl::engine {
namespace {

// Default context cap when the config's max_position_embeddings is smaller (as RealLm).
constexpr int64_t kDefaultContext = 65536;

struct ShardedSnapshot : StateSnapshot {
  llm::ShardedState::Snapshot s;
  int64_t length() const override { return s.position; }
};

class ShardedModelState : public ModelState {
 public:
  explicit ShardedModelState(llm::ShardedState s) : s_(std::move(s)), empty_(s_.snapshot()) {}
  int64_t length() const override { return s_.position(); }
  std::unique_ptr<StateSnapshot> snapshot() const override {
    auto r = std::make_unique<ShardedSnapshot>();
    r->s = s_.snapshot();
    return r;
  }
  void restore(const StateSnapshot& snap) override {
    s_.restore(dynamic_cast<const ShardedSnapshot&>(snap).s);
  }
  void reset() override { s_.restore(empty_); }
  llm::ShardedState& state() { return s_; }

 private:
  llm::ShardedState s_;
  llm::ShardedState::Snapshot empty_;
};

class ShardedLm : public LanguageModel {
 public:
  explicit ShardedLm(llm::ShardedTextModel m) : m_(std::move(m)) {}
  std::unique_ptr<ModelState> new_state() override {
    return std::make_unique<ShardedModelState>(m_.new_state());
  }
  Tensor prefill(const std::vector<Segment>& segs, ModelState& state, bool all_positions) override {
    std::vector<llm::Segment> in;
    in.reserve(segs.size());
    for (const auto& s : segs)
      in.push_back(s.is_rows() ? llm::Segment::rows(s.rows) : llm::Segment::tokens(s.ids));
    llm::PrefillOptions po;
    po.all_logits = all_positions;
    po.chunk_size = ubatch_;
    const Tensor logits = m_.prefill(in, dynamic_cast<ShardedModelState&>(state).state(), po);
    return all_positions ? logits : logits.select(0, logits.dim(0) - 1);
  }
  Tensor decode(int32_t id, ModelState& state) override {
    return m_.decode(id, dynamic_cast<ShardedModelState&>(state).state());
  }
  void set_prefill_ubatch(int64_t positions) override { ubatch_ = std::max<int64_t>(positions, 0); }
  int64_t vocab_size() const override { return m_.config().vocab_size; }
  int64_t hidden_size() const override { return m_.config().hidden_size; }
  int64_t max_context() const override {
    return std::max<int64_t>(m_.config().max_position_embeddings, kDefaultContext);
  }

 private:
  llm::ShardedTextModel m_;
  int64_t ubatch_ = llm::kDefaultPrefillChunk;
};

}  // namespace

std::unique_ptr<LanguageModel> load_sharded_lm(const Checkpoint& ckpt, const llm::TextConfig& cfg,
                                               int tp, Device first,
                                               std::optional<ops::Precision> precision, int rank,
                                               const std::string& rendezvous,
                                               llm::QuantScheme quant, llm::QuantScheme stored) {
  llm::ShardedLoadOptions so;
  so.text.precision = precision;
  so.text.quant = quant;
  so.text.stored_quant = stored;
  if (rank >= 0) {
    MVL_CHECK(!rendezvous.empty(), invalid_argument,
              "--rank {} needs --rendezvous PATH, where the {} processes meet", rank, tp);
    MVL_CHECK(rank < tp, invalid_argument, "--rank {} is outside --tp {} (0 .. {})", rank, tp,
              tp - 1);
    so.rank = rank;
    if (first.is_cuda()) {
      const ops::DeviceContext dev = ops::DeviceContext::open(first);
      so.devices.push_back(dev);
      so.join = [=] { return comm::NcclComm::create_rank(rendezvous, rank, tp, dev); };
    } else {
      so.join = [=]() -> std::unique_ptr<comm::Communicator> {
        return comm::SocketComm::join(rendezvous, rank, tp);
      };
    }
  } else if (first.is_cuda()) {
    for (int r = 0; r < tp; ++r)
      so.devices.push_back(ops::DeviceContext::open(Device::cuda(first.index + r)));
  }
  return std::make_unique<ShardedLm>(
      llm::ShardedTextModel::load(ckpt, cfg, llm::TextWeightNaming::detect(ckpt), tp, so));
}

LoadedModel load_random_sharded_model(const llm::TextConfig& cfg, int tp, Device first,
                                      uint64_t seed, llm::QuantScheme quant,
                                      std::optional<llm::RankMoe> rank_moe) {
  llm::ShardedLoadOptions so;
  so.text.quant = quant;
  if (rank_moe) {
    so.rank_moe = *rank_moe;
    so.expert_range_always = true;
  }
  if (first.is_cuda())
    for (int r = 0; r < tp; ++r)
      so.devices.push_back(ops::DeviceContext::open(Device::cuda(first.index + r)));
  llm::ShardedTextModel sm = llm::ShardedTextModel::random(cfg, tp, seed, so);
  const bool bf16 = sm.activation_dtype() == DType::bf16;
  return random_text_only_model(cfg, std::make_unique<ShardedLm>(std::move(sm)), first.is_cuda(),
                                bf16 ? "bf16" : "f32");
}

}  // namespace mvl::engine
