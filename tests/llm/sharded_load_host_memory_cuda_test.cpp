// Issue 15, the GPU side of sharded_load_host_memory_test: placing a rank's slices on a GPU,
// the loader stages each slice on the host (a contiguous copy of a column slice, the bf16
// cast of an f32 one), uploads it and drops the staging before the next. Measured with
// tests/support/host_heap_meter.h over the load of a 58 MiB f32 checkpoint: the host heap
// never holds more than one slice's staging at a time, and nothing once the load is done.
// gpu label: skips without a GPU, fails under MVL_REQUIRE_GPU=1.
#include <gtest/gtest.h>

#include <cstdio>

#include "kernels/comm/local_comm.h"
#include "kernels/comm/nccl_comm.h"
#include "llm/parallel/sharded_text_model.h"
#include "tests/llm/sharded_load_host_memory_util.h"
#include "tests/support/host_heap_meter.h"

namespace mvl::test {
namespace {

void expect_one_slice_at_a_time(const WideCheckpoint& w, const Checkpoint& ckpt, int tp,
                                const llm::ShardedLoadOptions& so) {
  const auto naming = llm::TextWeightNaming::detect(ckpt);
  const uint64_t before = HostHeapMeter::live();
  HostHeapMeter::reset_peak();
  std::vector<llm::ShardLoadStats> stats;
  uint64_t held = 0, peak = 0;
  {
    const llm::ShardedTextModel m = llm::ShardedTextModel::load(ckpt, w.cfg, naming, tp, so, &stats);
    EXPECT_TRUE(m.weights(0).embed_tokens.device().is_cuda());
    held = HostHeapMeter::live() - before;
    peak = HostHeapMeter::peak() - before;
  }
  ASSERT_EQ(stats.size(), 1u);
  const llm::ShardLoadStats& s = stats[0];
  std::printf("tp %d rank %d on the GPU: host heap peak %llu B, held after the load %llu B "
              "(largest slice %llu B, staging computed %llu B, placed on the GPU %llu B, the "
              "model %llu B)\n",
              tp, so.rank < 0 ? 0 : so.rank, static_cast<unsigned long long>(peak),
              static_cast<unsigned long long>(held), static_cast<unsigned long long>(s.largest_slice),
              static_cast<unsigned long long>(s.staging_peak), static_cast<unsigned long long>(s.copied_bytes),
              static_cast<unsigned long long>(w.text_bytes));
  EXPECT_GT(s.copied_bytes, w.text_bytes / static_cast<uint64_t>(2 * tp) / 2);  // bf16 on the GPU
  // One slice's staging: a contiguous copy (f32) plus its bf16 cast, plus 64 KiB of small
  // per-rank tables.
  EXPECT_LE(peak, s.largest_slice + s.largest_slice / 2 + 64 * 1024);
  EXPECT_LE(held, 64 * 1024) << "host copies of weights kept after their upload";
  EXPECT_LT(peak, w.text_bytes / 8);
}

TEST(ShardedLoadHostMemoryCuda, OneRankThroughNcclStagesOneSliceAtATime) {
  MVL_REQUIRE_GPU_OR_SKIP();
  if (!comm::nccl_built()) GTEST_SKIP() << "built without NCCL";
  if (!HostHeapMeter::usable()) GTEST_SKIP() << "the heap meter does not run under ASan";
  const WideCheckpoint w = write_wide_checkpoint("sharded_host_memory_cuda");
  const Checkpoint ckpt = Checkpoint::open(w.dir);
  llm::ShardedLoadOptions so;
  so.devices = {ops::DeviceContext::open(Device::cuda(0))};
  expect_one_slice_at_a_time(w, ckpt, 1, so);
}

// One process per rank: rank 1 of --tp 2 places only its slices (the column-split out_proj /
// o_proj are strided: the contiguous staging path). The group is joined after the load; a
// LocalComm pair stands in for the other process here.
TEST(ShardedLoadHostMemoryCuda, OneRankOfTwoStagesOneSliceAtATime) {
  MVL_REQUIRE_GPU_OR_SKIP();
  if (!HostHeapMeter::usable()) GTEST_SKIP() << "the heap meter does not run under ASan";
  const WideCheckpoint w = write_wide_checkpoint("sharded_host_memory_cuda_rank");
  const Checkpoint ckpt = Checkpoint::open(w.dir);
  comm::CommGroup pair = comm::make_local_group(2);
  llm::ShardedLoadOptions so;
  so.devices = {ops::DeviceContext::open(Device::cuda(0))};
  so.rank = 1;
  so.join = [&] { return std::move(pair[1]); };
  expect_one_slice_at_a_time(w, ckpt, 2, so);
}

}  // namespace
}  // namespace mvl::test
