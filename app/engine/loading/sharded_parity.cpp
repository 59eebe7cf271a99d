// Opening a checkpoint's text model over N ranks and running a prompt through it.
#include "app/engine/loading/sharded_parity.h"

#include "kernels/core/error.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::engine {

ShardedParityModel ShardedParityModel::open(const std::string& dir, int tp, Device first,
                                            std::optional<ops::Precision> precision) {
  ShardedParityModel m;
  m.cfg_ = ModelConfig::load_dir(dir);
  m.ckpt_ = Checkpoint::open(dir);
  llm::ShardedLoadOptions so;
  if (first.is_cuda())
    for (int r = 0; r < tp; ++r)
      so.devices.push_back(ops::DeviceContext::open(Device::cuda(first.index + r)));
  so.text.precision = precision;
  m.model_ = llm::ShardedTextModel::load(m.ckpt_, m.cfg_.text,
                                         llm::TextWeightNaming::detect(m.ckpt_), tp, so);
  return m;
}

Tensor ShardedParityModel::logits(const std::vector<llm::Segment>& segments, int64_t chunk) const {
  llm::ShardedState state = model_.new_state();
  llm::PrefillOptions opts;
  opts.all_logits = true;
  opts.chunk_size = chunk;
  const Tensor l = model_.prefill(segments, state, opts);
  return l.device().is_cpu() ? l : ops::to_device(l, Device::cpu());
}

}  // namespace mvl::engine
