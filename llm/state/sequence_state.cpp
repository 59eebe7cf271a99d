// SequenceState: cache bookkeeping. All tensor work goes through ops:: so a GPU state
// only needs its tensors allocated on the device.
#include "llm/state/sequence_state.h"

#include <algorithm>

#include "kernels/core/error.h"
#include "kernels/ops/positions.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::llm {

SequenceState::SequenceState(const TextConfig& cfg, const ops::DeviceContext& device, DType kv_dtype)
    : dev_(device), kinds_(cfg.layer_types), nkv_(cfg.num_key_value_heads), dh_(cfg.head_dim),
      kv_dtype_(kv_dtype), lineage_(std::make_shared<const int>(0)) {
  MVL_CHECK(kv_dtype == DType::f32 || kv_dtype == DType::bf16, unsupported,
            "sequence state: KV cache dtype must be f32 or bf16, got {}", dtype_name(kv_dtype));
  position_dev_ = ops::empty({1}, DType::i32, device);  // zero-filled: position 0
  for (AttnKind k : kinds_) {
    if (k == AttnKind::lightning) {
      slot_.push_back(static_cast<int64_t>(lightning_.size()));
      lightning_.push_back(ops::empty({cfg.num_attention_heads, cfg.head_dim, cfg.head_dim}, DType::f32, device));
    } else {
      slot_.push_back(static_cast<int64_t>(kv_.size()));
      kv_.push_back(KvCache{ops::empty({0, nkv_, dh_}, kv_dtype_, device),
                            ops::empty({0, nkv_, dh_}, kv_dtype_, device), 0});
    }
  }
}

int64_t SequenceState::slot(int64_t layer, AttnKind kind) const {
  MVL_CHECK(layer >= 0 && layer < static_cast<int64_t>(kinds_.size()) && kinds_[layer] == kind, internal,
            "sequence state: layer {} is not a {} layer", layer,
            kind == AttnKind::lightning ? "lightning" : "softmax");
  return slot_[layer];
}

Tensor& SequenceState::lightning_state(int64_t layer) { return lightning_[slot(layer, AttnKind::lightning)]; }
KvCache& SequenceState::kv_cache(int64_t layer) { return kv_[slot(layer, AttnKind::softmax)]; }

void SequenceState::resize_kv(KvCache& c, int64_t capacity) {
  // The old buffers are dropped before the new ones exist when nothing must be copied, so a
  // reservation never needs old + new capacity at once.
  if (c.length == 0) {
    c.k = Tensor();
    c.v = Tensor();
  }
  Tensor nk = ops::empty({capacity, nkv_, dh_}, kv_dtype_, dev_);
  Tensor nv = ops::empty({capacity, nkv_, dh_}, kv_dtype_, dev_);
  ++kv_allocations_;
  if (c.length > 0) {
    ops::copy_into(nk.slice(0, 0, c.length), c.k.slice(0, 0, c.length));
    ops::copy_into(nv.slice(0, 0, c.length), c.v.slice(0, 0, c.length));
    ++kv_copies_;
    kv_copied_bytes_ += 2 * static_cast<uint64_t>(c.length * nkv_ * dh_) * dtype_size(kv_dtype_);
  }
  c.k = nk;
  c.v = nv;
}

void SequenceState::grow_kv(KvCache& c, int64_t rows) {
  if (rows > c.k.dim(0)) resize_kv(c, std::max<int64_t>({rows, 2 * c.k.dim(0), 64}));
}

void SequenceState::ensure_kv(int64_t tokens) {
  for (KvCache& c : kv_) grow_kv(c, tokens);
}

void SequenceState::reserve_kv(int64_t tokens) {
  for (KvCache& c : kv_)
    if (tokens > c.k.dim(0)) resize_kv(c, tokens);
}

KvStats SequenceState::kv_stats() const {
  KvStats s;
  const int64_t layers = std::max<int64_t>(1, static_cast<int64_t>(kv_.size()));
  s.capacity = kv_.empty() ? 0 : kv_.front().k.dim(0);
  for (const KvCache& c : kv_) s.capacity = std::min(s.capacity, c.k.dim(0));
  s.allocations = kv_allocations_ / layers;
  s.copies = kv_copies_ / layers;
  s.copied_bytes = kv_copied_bytes_;
  return s;
}

void SequenceState::append_kv(int64_t layer, const Tensor& k, const Tensor& v) {
  KvCache& c = kv_cache(layer);
  const int64_t n = k.dim(0);
  check_shape(k, {n, nkv_, dh_}, "append_kv k");
  check_shape(v, {n, nkv_, dh_}, "append_kv v");
  MVL_CHECK(k.dtype() == kv_dtype_ && v.dtype() == kv_dtype_, invalid_argument,
            "append_kv: k {} / v {} do not match the cache dtype {}", k.str(), v.str(), dtype_name(kv_dtype_));
  MVL_CHECK(c.length == position_, internal, "append_kv: layer {} holds {} rows at position {}", layer, c.length,
            position_);
  grow_kv(c, c.length + n);
  if (n > 0) {
    ops::write_rows_at(c.k, k.is_contiguous() ? k : ops::clone(k), position_dev_);
    ops::write_rows_at(c.v, v.is_contiguous() ? v : ops::clone(v), position_dev_);
  }
  c.length += n;
}

void SequenceState::advance(int64_t n) {
  position_ += n;
  if (n != 0) ops::add_scalar_(position_dev_, static_cast<int32_t>(n));
}

Tensor SequenceState::positions(int64_t n) const { return ops::positions_from(position_dev_, n); }

Tensor SequenceState::length_after(int64_t n) const {
  return ops::positions_from(position_dev_, n + 1).slice(0, n, n + 1);
}

std::vector<const void*> SequenceState::buffer_key() const {
  std::vector<const void*> key{position_dev_.data()};
  for (const Tensor& t : lightning_) key.push_back(t.data());
  for (const KvCache& c : kv_) {
    key.push_back(c.k.data());
    key.push_back(c.v.data());
  }
  return key;
}

void SequenceState::set_host_position(int64_t position) {
  position_ = position;
  for (KvCache& c : kv_) c.length = position;
}

SequenceState SequenceState::clone() const {
  SequenceState s;
  s.dev_ = dev_;
  s.kinds_ = kinds_;
  s.slot_ = slot_;
  s.nkv_ = nkv_;
  s.dh_ = dh_;
  s.kv_dtype_ = kv_dtype_;
  s.position_ = position_;
  s.position_dev_ = ops::clone(position_dev_);
  // A new identity; this state's past becomes the clone's newest ancestor.
  s.lineage_ = std::make_shared<const int>(0);
  s.ancestors_ = ancestors_;
  s.ancestors_.push_back(Ancestor{lineage_, epoch_, position_, rewound_to_});
  for (const Tensor& t : lightning_) s.lightning_.push_back(ops::clone(t));
  // Same capacity (a reservation carries over), but only the valid rows are copied.
  for (const KvCache& c : kv_) {
    KvCache d{ops::empty({c.k.dim(0), nkv_, dh_}, kv_dtype_, dev_), ops::empty({c.v.dim(0), nkv_, dh_}, kv_dtype_, dev_),
              c.length};
    if (c.length > 0) {
      ops::copy_into(d.k.slice(0, 0, c.length), c.k.slice(0, 0, c.length));
      ops::copy_into(d.v.slice(0, 0, c.length), c.v.slice(0, 0, c.length));
    }
    s.kv_.push_back(std::move(d));
  }
  return s;
}

SequenceState::Snapshot SequenceState::snapshot() const {
  Snapshot s;
  s.position = position_;
  s.lineage = lineage_;
  s.epoch = epoch_;
  for (const Tensor& t : lightning_) s.lightning.push_back(ops::clone(t));
  return s;
}

void SequenceState::check_restorable(const Snapshot& s) const {
  MVL_CHECK(s.lineage && s.lightning.size() == lightning_.size(), invalid_argument,
            "restore: the snapshot belongs to another model or is empty");
  MVL_CHECK(s.position <= position_, invalid_argument,
            "restore: the snapshot is at position {} but the sequence is only at {}", s.position, position_);
  auto rewritten = [&](int64_t cut) {
    throw_error(ErrorCategory::invalid_argument,
                fmt::format("restore: the history after position {} was rewritten since the snapshot at position {} "
                            "was taken",
                            cut, s.position));
  };
  // A snapshot stays valid while no rewind since it was taken cut below its position.
  auto check_rewinds = [&](const std::vector<int64_t>& rewinds, uint64_t from, uint64_t to) {
    for (uint64_t e = from; e < to; ++e)
      if (s.position > rewinds[e]) rewritten(rewinds[e]);
  };
  if (s.lineage == lineage_) {
    check_rewinds(rewound_to_, s.epoch, epoch_);
    return;
  }
  size_t i = 0;
  while (i < ancestors_.size() && ancestors_[i].lineage != s.lineage) ++i;
  MVL_CHECK(i < ancestors_.size(), invalid_argument, "restore: the snapshot belongs to another sequence");
  // Taken on that state after the clone was made: a history this clone never had.
  MVL_CHECK(s.epoch <= ancestors_[i].epoch_end, invalid_argument,
            "restore: the snapshot was taken on the original sequence after this clone was made");
  // Its own state's rewinds until the clone, then every later clone point and rewind.
  check_rewinds(ancestors_[i].rewound_to, s.epoch, ancestors_[i].epoch_end);
  for (size_t j = i; j < ancestors_.size(); ++j) {
    if (s.position > ancestors_[j].limit) rewritten(ancestors_[j].limit);
    if (j > i) check_rewinds(ancestors_[j].rewound_to, 0, ancestors_[j].epoch_end);
  }
  check_rewinds(rewound_to_, 0, epoch_);
}

void SequenceState::restore(const Snapshot& s) {
  check_restorable(s);
  for (size_t i = 0; i < lightning_.size(); ++i) ops::copy_into(lightning_[i], s.lightning[i]);
  for (KvCache& c : kv_) c.length = std::min(c.length, s.position);
  position_ = s.position;
  Tensor p = Tensor::empty({1}, DType::i32);
  p.data<int32_t>()[0] = static_cast<int32_t>(s.position);
  ops::copy_into(position_dev_, position_dev_.device().is_cpu() ? p : ops::to_device(p, dev_));
  rewound_to_.push_back(s.position);
  ++epoch_;
}

}  // namespace mvl::llm
