// LocalComm: collectives between threads of one process over shared CPU tensors. Each
// collective publishes a pointer per rank, meets at a barrier, reads the others, and meets
// again before anyone overwrites its input. Sums are taken in rank order in f32.
#include "kernels/comm/local_comm.h"

#include <cstring>
#include <string>

#include "kernels/core/error.h"

namespace mvl::comm {

LocalGroup::LocalGroup(int size) : size_(size), slots_(static_cast<size_t>(size), nullptr) {
  MVL_CHECK(size >= 1, invalid_argument, "a communicator group needs at least one rank, got {}",
            size);
}

void LocalGroup::arrive_and_wait() {
  std::unique_lock<std::mutex> lock(mu_);
  MVL_CHECK(!aborted_, internal, "collective abandoned: another rank of the group failed");
  const uint64_t gen = generation_;
  if (++waiting_ == size_) {
    waiting_ = 0;
    ++generation_;
    cv_.notify_all();
    return;
  }
  cv_.wait(lock, [&] { return generation_ != gen || aborted_; });
  MVL_CHECK(generation_ != gen, internal, "collective abandoned: another rank of the group failed");
}

void LocalGroup::abort() {
  std::lock_guard<std::mutex> lock(mu_);
  aborted_ = true;
  cv_.notify_all();
}

void LocalGroup::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  aborted_ = false;
  waiting_ = 0;
  ++generation_;
}

LocalComm::LocalComm(std::shared_ptr<LocalGroup> group, int rank)
    : group_(std::move(group)), rank_(rank) {
  MVL_CHECK(rank >= 0 && rank < group_->size(), invalid_argument, "rank {} outside a group of {}",
            rank, group_->size());
}

void LocalComm::exchange(const Tensor& t, const char* op) {
  MVL_CHECK(t.defined() && t.device().is_cpu() && t.is_contiguous(), invalid_argument,
            "LocalComm::{}: needs a contiguous CPU tensor, got {}", op,
            t.defined() ? t.str() : "undefined");
  group_->slots()[static_cast<size_t>(rank_)] = &t;
  group_->arrive_and_wait();
  std::string mismatch;
  for (int r = 0; r < size() && mismatch.empty(); ++r) {
    const Tensor* o = group_->slots()[static_cast<size_t>(r)];
    if (o->shape() != t.shape() || o->dtype() != t.dtype())
      mismatch = fmt::format("LocalComm::{}: rank {} passed {} but rank {} passed {}", op, rank_,
                             t.str(), r, o->str());
  }
  if (mismatch.empty()) return;
  // A mismatch is a bug in the caller's lockstep. Every rank sees it; all meet once more so
  // no rank's tensor goes away while another still reads it, then all throw.
  group_->arrive_and_wait();
  throw Error(ErrorCategory::internal, mismatch);
}

void LocalComm::all_reduce_sum(const Tensor& t) {
  MVL_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::bf16, unsupported,
            "LocalComm::all_reduce_sum: f32 or bf16 only, got {}", t.str());
  exchange(t, "all_reduce_sum");
  const size_t n = static_cast<size_t>(t.numel());
  std::vector<float> sum(n, 0.0f);
  for (int r = 0; r < size(); ++r) {
    const Tensor* o = group_->slots()[static_cast<size_t>(r)];
    if (o->dtype() == DType::f32) {
      const float* p = o->data<float>();
      for (size_t i = 0; i < n; ++i) sum[i] += p[i];
    } else {
      const uint16_t* p = o->data<uint16_t>();
      for (size_t i = 0; i < n; ++i) sum[i] += bf16_to_f32(p[i]);
    }
  }
  group_->arrive_and_wait();  // everyone has read every input; now overwrite our own
  if (t.dtype() == DType::f32) {
    std::memcpy(t.data(), sum.data(), n * sizeof(float));
  } else {
    uint16_t* p = t.data<uint16_t>();
    for (size_t i = 0; i < n; ++i) p[i] = f32_to_bf16(sum[i]);
  }
}

Tensor LocalComm::all_gather(const Tensor& t) {
  MVL_CHECK(t.ndim() >= 1, invalid_argument,
            "LocalComm::all_gather: needs at least one dimension, got {}", t.str());
  exchange(t, "all_gather");
  Shape shape = t.shape();
  shape[0] *= size();
  Tensor out = Tensor::empty(shape, t.dtype());
  const size_t bytes = t.nbytes();
  for (int r = 0; r < size(); ++r)
    std::memcpy(static_cast<char*>(out.data()) + bytes * static_cast<size_t>(r),
                group_->slots()[static_cast<size_t>(r)]->data(), bytes);
  group_->arrive_and_wait();
  return out;
}

void LocalComm::broadcast(const Tensor& t, int root) {
  MVL_CHECK(root >= 0 && root < size(), invalid_argument,
            "LocalComm::broadcast: root {} outside {} ranks", root, size());
  exchange(t, "broadcast");
  // Root's data is copied before the second barrier, so root must not change it meanwhile.
  if (rank_ != root)
    std::memcpy(t.data(), group_->slots()[static_cast<size_t>(root)]->data(), t.nbytes());
  group_->arrive_and_wait();
}

CommGroup make_local_group(int size) {
  auto group = std::make_shared<LocalGroup>(size);
  CommGroup out;
  for (int r = 0; r < size; ++r) out.push_back(std::make_unique<LocalComm>(group, r));
  return out;
}

}  // namespace mvl::comm
