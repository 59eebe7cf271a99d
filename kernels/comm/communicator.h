// Communicator: the collectives a sharded model needs (all-reduce sum, all-gather, broadcast,
// barrier), on tensors, for one rank of a group. Every rank of a group must make the same
// calls in the same order with tensors of one shape and dtype (lockstep). Implementations:
// LocalComm (ranks are threads of one process, CPU tensors; local_comm.h) and NcclComm (one
// GPU per rank, calls enqueued on the rank's stream; nccl_comm.h).
#pragma once

#include <memory>
#include <vector>

#include "kernels/core/tensor.h"

namespace mvl::comm {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // In place: t (contiguous, f32 or bf16) becomes the elementwise sum of every rank's t.
  // f32 sums are deterministic for LocalComm (rank order); NCCL's order is its own.
  virtual void all_reduce_sum(const Tensor& t) = 0;
  // t: contiguous [d0, ...] on every rank. Returns [size * d0, ...] on t's device: rank r's
  // rows at [r * d0, (r + 1) * d0). Any dtype.
  virtual Tensor all_gather(const Tensor& t) = 0;
  // In place: every rank's t becomes root's t (contiguous, any dtype).
  virtual void broadcast(const Tensor& t, int root) = 0;
  // Returns once every rank has entered it (host-side; a GPU rank's queued work may still run).
  virtual void barrier() = 0;

  // After a rank failed mid-step: makes this rank's pending and later collectives fail instead
  // of waiting for the failed one (LocalComm wakes its waiters; NcclComm aborts the NCCL
  // communicator, which stays unusable). May be called from another rank's thread.
  virtual void abort() {}
  // Once every rank has stopped: makes the group usable again where possible (LocalComm).
  virtual void recover() {}
};

using CommGroup = std::vector<std::unique_ptr<Communicator>>;  // one entry per rank, rank order

}  // namespace mvl::comm
