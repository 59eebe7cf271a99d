// NcclComm on the GPUs of this machine (gpu label: skips without a GPU, fails under
// MVL_REQUIRE_GPU=1; skips without NCCL in the build). With one GPU: a one-rank group whose
// collectives are identities, run eagerly and captured in a CUDA graph. With G >= 2 GPUs:
// a G-rank group, one thread per GPU, all-reduce/all-gather/broadcast against the host sums.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/comm/device_thread.h"
#include "kernels/comm/nccl_comm.h"
#include "kernels/comm/rank_workers.h"
#include "kernels/ops/graph.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

std::vector<float> host(const Tensor& t) {
  const Tensor h = ops::to_device(t, Device::cpu());
  return std::vector<float>(h.data<float>(), h.data<float>() + h.numel());
}

Tensor values(int rank, int64_t n, const ops::DeviceContext& dev) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[i] = static_cast<float>(rank + 1) * 0.25f + static_cast<float>(i);
  return ops::to_device(Tensor::from_f32({n}, v), dev);
}

TEST(NcclCommCuda, OneRankIsTheIdentityEagerAndInAGraph) {
  MVL_REQUIRE_GPU_OR_SKIP();
  if (!comm::nccl_built()) GTEST_SKIP() << "built without NCCL";
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  comm::CommGroup g = comm::NcclComm::create_all({dev});
  ASSERT_EQ(g.size(), 1u);
  comm::Communicator& c = *g[0];
  EXPECT_EQ(c.rank(), 0);
  EXPECT_EQ(c.size(), 1);
  const Tensor x = values(0, 1000, dev);
  const std::vector<float> want = host(x);
  c.all_reduce_sum(x);
  EXPECT_EQ(host(x), want);
  EXPECT_EQ(host(c.all_gather(x)), want);
  c.broadcast(x, 0);
  c.barrier();
  EXPECT_EQ(host(x), want);
  // Captured: the all-reduce of a scaled copy replays on the stream.
  const Tensor y = ops::empty({1000}, DType::f32, dev);
  const ops::CudaGraph graph = ops::CudaGraph::capture(dev, [&] {
    ops::copy_into(y, ops::scale(x, 2.0f));
    c.all_reduce_sum(y);
  });
  graph.launch();
  graph.launch();
  dev.synchronize();
  std::vector<float> twice = want;
  for (float& v : twice) v *= 2.0f;
  EXPECT_EQ(host(y), twice);
}

TEST(NcclCommCuda, EveryGpuOfTheMachineOneThreadEach) {
  MVL_REQUIRE_GPU_OR_SKIP();
  if (!comm::nccl_built()) GTEST_SKIP() << "built without NCCL";
  const int G = ops::cuda_device_count();
  if (G < 2) GTEST_SKIP() << "one GPU: the multi-rank case needs two or more";
  std::vector<ops::DeviceContext> devs;
  for (int r = 0; r < G; ++r) devs.push_back(ops::DeviceContext::open(Device::cuda(r)));
  comm::CommGroup g = comm::NcclComm::create_all(devs);
  comm::RankWorkers workers(G, [&](int r) { comm::bind_thread_to(devs[r]); });
  std::vector<std::vector<float>> sum(G), gathered(G), bcast(G);
  workers.run([&](int r) {
    comm::Communicator& c = *g[r];
    Tensor x = values(r, 257, devs[r]);
    const Tensor all = c.all_gather(x);
    c.all_reduce_sum(x);
    Tensor b = values(r, 5, devs[r]);
    c.broadcast(b, G - 1);
    c.barrier();
    sum[r] = host(x);
    gathered[r] = host(all);
    bcast[r] = host(b);
  });
  for (int r = 0; r < G; ++r) {
    for (int64_t i = 0; i < 257; ++i) {
      float s = 0;
      for (int q = 0; q < G; ++q) s += static_cast<float>(q + 1) * 0.25f + static_cast<float>(i);
      EXPECT_NEAR(sum[r][i], s, 1e-3f) << "rank " << r << " element " << i;
      for (int q = 0; q < G; ++q)
        EXPECT_EQ(gathered[r][q * 257 + i],
                  static_cast<float>(q + 1) * 0.25f + static_cast<float>(i));
    }
    EXPECT_EQ(bcast[r], host(values(G - 1, 5, ops::DeviceContext())));
  }
}

}  // namespace
}  // namespace mvl
