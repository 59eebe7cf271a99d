// LocalComm: a Communicator whose ranks are threads of one process, exchanging CPU tensors
// through shared memory. Reductions add the ranks' values in rank order in f32, so every
// rank gets bit-identical results that do not depend on thread timing. Used by the tests and
// by `--device cpu --tp N`. If one rank fails, LocalGroup::abort() wakes the others: their
// pending and later collectives throw instead of waiting forever (reset() re-arms the group).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "kernels/comm/communicator.h"

namespace mvl::comm {

class LocalGroup {
 public:
  explicit LocalGroup(int size);
  int size() const { return size_; }
  // Wakes every rank waiting in a collective; they throw Error{internal} until reset().
  void abort();
  // Call only when no rank is inside a collective (e.g. after a failed step was joined).
  void reset();

  // A barrier over the group's threads; throws Error{internal} once the group is aborted.
  void arrive_and_wait();
  // The per-collective exchange slots (one per rank), valid between two barriers.
  std::vector<const Tensor*>& slots() { return slots_; }

 private:
  int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  uint64_t generation_ = 0;
  bool aborted_ = false;
  std::vector<const Tensor*> slots_;
};

class LocalComm final : public Communicator {
 public:
  LocalComm(std::shared_ptr<LocalGroup> group, int rank);
  int rank() const override { return rank_; }
  int size() const override { return group_->size(); }
  void all_reduce_sum(const Tensor& t) override;
  Tensor all_gather(const Tensor& t) override;
  void broadcast(const Tensor& t, int root) override;
  void barrier() override { group_->arrive_and_wait(); }
  void abort() override { group_->abort(); }
  void recover() override { group_->reset(); }
  LocalGroup& group() const { return *group_; }

 private:
  // Publishes t in this rank's slot and waits for every rank; checks they agree.
  void exchange(const Tensor& t, const char* op);
  std::shared_ptr<LocalGroup> group_;
  int rank_;
};

// size LocalComms sharing one LocalGroup, rank order.
CommGroup make_local_group(int size);

}  // namespace mvl::comm
