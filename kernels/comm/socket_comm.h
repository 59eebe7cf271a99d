// SocketComm: a Communicator whose ranks are separate processes on one machine, talking over a
// Unix-domain socket (a star around rank 0). Rank 0 binds the socket path and accepts the
// others, which connect (retrying until a timeout). Each collective sends every rank's tensor to
// rank 0, which sums in rank order in f32 (exactly LocalComm's arithmetic, so N processes give
// bit for bit the results of N threads) or concatenates, and sends the result back. CPU
// tensors only; the CPU proof of `--tp N --rank R --rendezvous PATH` (docs/parallel.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/comm/communicator.h"

namespace mvl::comm {

class SocketComm final : public Communicator {
 public:
  // Joins the group of `size` processes at `path` as `rank` (rank 0 listens, removing a stale
  // socket file first, and removes the name once all have joined). Throws Error{device} when
  // the socket cannot be made or the others do not arrive within timeout_s, and
  // Error{invalid_argument} for a rank outside [0, size).
  static std::unique_ptr<SocketComm> join(const std::string& path, int rank, int size,
                                          double timeout_s = 120.0);
  ~SocketComm() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_reduce_sum(const Tensor& t) override;
  Tensor all_gather(const Tensor& t) override;
  void broadcast(const Tensor& t, int root) override;
  void barrier() override;
  void abort() override;  // closes the sockets: pending and later collectives throw

 private:
  SocketComm(int rank, int size, std::vector<int> fds);
  // Sends t (op, dtype, shape) to rank 0 and returns rank 0's answer; rank 0 gathers every
  // rank's bytes (headers checked to agree), combines them per op and answers everyone.
  std::vector<char> exchange(int op, const Tensor& t, int root);
  int rank_, size_;
  std::vector<int> fds_;  // rank 0: one per other rank (index = rank); others: [0] = rank 0
};

}  // namespace mvl::comm
