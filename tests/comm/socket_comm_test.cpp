// SocketComm: ranks joined over a Unix socket (threads of this test stand in for processes;
// tests/cli/tp_processes_cli_test.cpp runs real ones) give LocalComm's bit-identical results
// for all-reduce (f32, bf16), all-gather and broadcast; a rank that passes another shape is
// reported on every rank; a rank that never comes makes join() time out with a message.
#include <gtest/gtest.h>

#include <thread>

#include "kernels/comm/local_comm.h"
#include "kernels/comm/rank_workers.h"
#include "kernels/comm/socket_comm.h"
#include "kernels/core/error.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/support/test_util.h"

namespace mvl::test {
namespace {

Tensor input(int r, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[i] = (r % 2 ? 1e8f : 1.0f) * (1.0f + 0.001f * static_cast<float>(i + r));
  return Tensor::from_f32({n}, v);
}

std::vector<char> bytes(const Tensor& t) {
  return std::vector<char>(static_cast<const char*>(t.data()),
                           static_cast<const char*>(t.data()) + t.nbytes());
}

// Runs fn(comm, rank) for every rank of a socket group and of a LocalComm group; returns the
// bytes each produced: [0] socket, [1] local.
template <typename Fn>
std::vector<std::vector<std::vector<char>>> both(int N, Fn fn) {
  const std::string path = temp_dir("socket-comm") + "/s";
  std::vector<std::vector<std::vector<char>>> out(2, std::vector<std::vector<char>>(N));
  comm::RankWorkers w(N);
  w.run([&](int r) {
    auto c = comm::SocketComm::join(path, r, N, 20.0);
    out[0][static_cast<size_t>(r)] = fn(*c, r);
  });
  comm::CommGroup g = comm::make_local_group(N);
  w.run([&](int r) { out[1][static_cast<size_t>(r)] = fn(*g[static_cast<size_t>(r)], r); });
  return out;
}

TEST(SocketComm, CollectivesEqualLocalCommBitForBit) {
  for (int N : {1, 2, 3, 4}) {
    SCOPED_TRACE(N);
    auto reduce = both(N, [](comm::Communicator& c, int r) {
      Tensor t = input(r, 37);
      c.all_reduce_sum(t);
      Tensor b = ops::cast(input(r, 9), DType::bf16);
      c.all_reduce_sum(b);
      std::vector<char> v = bytes(t), w = bytes(b);
      v.insert(v.end(), w.begin(), w.end());
      return v;
    });
    for (int r = 0; r < N; ++r) {
      EXPECT_EQ(reduce[0][r], reduce[1][r]) << "rank " << r;
      EXPECT_EQ(reduce[0][r], reduce[0][0]) << "rank " << r;
    }
    auto gather = both(N, [](comm::Communicator& c, int r) {
      std::vector<char> v = bytes(c.all_gather(input(r, 5).view({1, 5})));
      Tensor t = input(r, 4);
      c.broadcast(t, c.size() - 1);
      c.barrier();
      const std::vector<char> b = bytes(t);
      v.insert(v.end(), b.begin(), b.end());
      return v;
    });
    for (int r = 0; r < N; ++r) EXPECT_EQ(gather[0][r], gather[1][r]) << "rank " << r;
  }
}

TEST(SocketComm, AShapeMismatchIsReportedOnEveryRank) {
  const std::string path = temp_dir("socket-comm-bad") + "/s";
  comm::RankWorkers w(2);
  std::vector<std::string> errors(2);
  w.run([&](int r) {
    auto c = comm::SocketComm::join(path, r, 2, 20.0);
    Tensor t = input(r, r == 0 ? 4 : 5);
    try {
      c->all_reduce_sum(t);
    } catch (const Error& e) {
      errors[static_cast<size_t>(r)] = e.what();
    }
  });
  for (const auto& e : errors) EXPECT_NE(e.find("SocketComm"), std::string::npos) << e;
}

TEST(SocketComm, AMissingRankTimesOut) {
  const std::string path = temp_dir("socket-comm-late") + "/s";
  try {
    comm::SocketComm::join(path, 0, 2, 0.3);
    FAIL() << "joined a group of 2 alone";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only 1 of 2 ranks joined"), std::string::npos)
        << e.what();
  }
  try {
    comm::SocketComm::join(path, 1, 2, 0.3);
    FAIL() << "joined with no rank 0";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no rank 0 listening"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mvl::test
