// NcclComm: a Communicator over NCCL for one process driving several GPUs, one rank per GPU
// and one worker thread per rank (comm/rank_workers.h). Every call is enqueued on the rank's
// stream (its ops::DeviceContext) and never waits for the host, except barrier(), so a
// decode step that contains collectives can still be captured as one CUDA graph per rank.
// Built when NCCL is found beside the CUDA toolkit (MVL_HAVE_NCCL). Several processes (one
// rank each, on one node or several) bootstrap through a unique-id file on a shared
// filesystem: create_rank() (docs/parallel.md).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "kernels/comm/communicator.h"
#include "kernels/ops/device.h"

struct ncclComm;  // = ncclComm_t's pointee; forward-declared so no NCCL header leaks

namespace mvl::comm {

// Whether this build has NCCL.
bool nccl_built();

class NcclComm final : public Communicator {
 public:
  // One communicator per device context (distinct CUDA devices, rank = index), created
  // together with ncclCommInitAll. Throws Error{unsupported} without NCCL, Error{device}
  // when NCCL fails (the message carries ncclGetErrorString and the last NCCL warning).
  static CommGroup create_all(const std::vector<ops::DeviceContext>& devices);
  // Rank `rank` of a group of `size` processes (ncclCommInitRank). Rank 0 writes a new
  // ncclUniqueId to id_file (atomically: a temporary name, then rename) and removes it once
  // every rank has joined; the others wait up to timeout_s for the file to appear. Use a fresh
  // path per run on a filesystem every process sees.
  static std::unique_ptr<Communicator> create_rank(const std::string& id_file, int rank, int size,
                                                   const ops::DeviceContext& device,
                                                   double timeout_s = 300.0);
  ~NcclComm() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_reduce_sum(const Tensor& t) override;  // f32 | bf16, on the rank's device
  Tensor all_gather(const Tensor& t) override;
  void broadcast(const Tensor& t, int root) override;
  void barrier() override;  // a one-element all-reduce, then waits for the rank's stream
  void abort() override;    // ncclCommAbort; later calls throw Error{device}

 private:
  NcclComm(ncclComm* comm, ops::DeviceContext dev, int rank, int size);
  void check_tensor(const Tensor& t, const char* op) const;
  std::atomic<ncclComm*> comm_;
  ops::DeviceContext dev_;
  int rank_, size_;
};

}  // namespace mvl::comm
