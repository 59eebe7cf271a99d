// LocalComm and RankWorkers: collectives between rank threads give the rank-order sum on
// every rank (bit-identical, independent of timing), gather in rank order, broadcast the
// root's data; a failing rank wakes the others instead of hanging them, and the group is
// usable again after reset.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "kernels/comm/local_comm.h"
#include "kernels/comm/rank_workers.h"
#include "kernels/core/error.h"

namespace mvl::test {
namespace {

std::vector<float> values(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

// Rank r's input: values that make the summation order visible in f32.
Tensor input(int r, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[i] = (r % 2 ? 1e8f : 1.0f) * (1.0f + 0.001f * static_cast<float>(i + r));
  return Tensor::from_f32({n}, v);
}

TEST(LocalComm, AllReduceIsTheRankOrderSumOnEveryRank) {
  for (int N : {1, 2, 3, 4, 8}) {
    comm::CommGroup g = comm::make_local_group(N);
    comm::RankWorkers workers(N);
    std::vector<std::vector<float>> got(static_cast<size_t>(N));
    for (int trial = 0; trial < 3; ++trial) {
      workers.run([&](int r) {
        // Stagger the ranks so arrival order varies between trials.
        std::this_thread::sleep_for(std::chrono::microseconds(((r + trial) % N) * 200));
        Tensor t = input(r, 37);
        g[static_cast<size_t>(r)]->all_reduce_sum(t);
        got[static_cast<size_t>(r)] = values(t);
      });
      std::vector<float> want(37, 0.0f);
      for (int r = 0; r < N; ++r) {
        const std::vector<float> v = values(input(r, 37));
        for (size_t i = 0; i < want.size(); ++i) want[i] += v[i];
      }
      for (int r = 0; r < N; ++r)
        EXPECT_EQ(got[static_cast<size_t>(r)], want) << "N=" << N << " rank " << r;
    }
  }
}

TEST(LocalComm, AllGatherBroadcastAndBf16) {
  const int N = 4;
  comm::CommGroup g = comm::make_local_group(N);
  comm::RankWorkers workers(N);
  std::vector<Tensor> gathered(N), bcast(N), bf(N);
  workers.run([&](int r) {
    comm::Communicator& c = *g[static_cast<size_t>(r)];
    EXPECT_EQ(c.rank(), r);
    EXPECT_EQ(c.size(), N);
    gathered[r] =
        c.all_gather(Tensor::from_f32({2, 3}, std::vector<float>(6, static_cast<float>(r))));
    Tensor b = Tensor::from_f32({5}, std::vector<float>(5, static_cast<float>(10 + r)));
    c.broadcast(b, 2);
    bcast[r] = b;
    Tensor h = Tensor::empty({4}, DType::bf16);
    for (int i = 0; i < 4; ++i)
      h.data<uint16_t>()[i] = f32_to_bf16(0.5f * static_cast<float>(r + i));
    c.all_reduce_sum(h);
    bf[r] = h;
    c.barrier();
  });
  for (int r = 0; r < N; ++r) {
    ASSERT_EQ(gathered[r].shape(), (Shape{8, 3}));
    for (int row = 0; row < 8; ++row)
      EXPECT_EQ(gathered[r].data<float>()[row * 3], static_cast<float>(row / 2));
    EXPECT_EQ(values(bcast[r]), std::vector<float>(5, 12.0f));
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(bf16_to_f32(bf[r].data<uint16_t>()[i]), 0.5f * (6 + 4 * i));
  }
}

TEST(LocalComm, AFailingRankWakesTheOthersAndTheGroupRecovers) {
  const int N = 3;
  comm::CommGroup g = comm::make_local_group(N);
  // As the sharded model wires it: abort()/recover() through the Communicator interface.
  comm::RankWorkers workers(
      N, {},
      [&] {
        for (auto& c : g) c->abort();
      },
      [&] {
        for (auto& c : g) c->recover();
      });
  try {
    workers.run([&](int r) {
      if (r == 1) throw Error(ErrorCategory::invalid_argument, "rank 1 failed on purpose");
      Tensor t = input(r, 4);
      g[static_cast<size_t>(r)]->all_reduce_sum(t);  // would wait forever for rank 1
    });
    FAIL() << "the failure was not rethrown";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 1 failed on purpose"), std::string::npos)
        << e.what();
  }
  // Mismatched shapes are reported on every rank, not silently summed.
  EXPECT_THROW(workers.run([&](int r) {
    Tensor t = input(r, 4 + (r == 2));
    g[static_cast<size_t>(r)]->all_reduce_sum(t);
  }),
               Error);
  std::vector<float> sum;
  workers.run([&](int r) {
    Tensor t = Tensor::from_f32({1}, {static_cast<float>(r + 1)});
    g[static_cast<size_t>(r)]->all_reduce_sum(t);
    if (r == 0) sum = values(t);
  });
  EXPECT_EQ(sum, std::vector<float>{6.0f});
}

}  // namespace
}  // namespace mvl::test
