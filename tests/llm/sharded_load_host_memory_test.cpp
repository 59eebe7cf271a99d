// Issue 15: the sharded loader never holds more than one slice per rank on the host. Measured,
// not computed: tests/support/host_heap_meter.h counts every host tensor allocation of this
// process (HeapStorage's aligned_alloc) and its peak while ShardedTextModel::load places the
// ranks' slices of a 58 MiB f32 checkpoint on CPU ranks. On the CPU a rank's row slices and
// whole experts stay views into the mapped file; only the column slices of out_proj / o_proj
// are copied, once. So the host heap grows by those copies and by nothing else: never a whole
// tensor that is split, never the model. (The GPU twin, sharded_load_host_memory_cuda_test,
// measures the upload path, where each slice is staged on the host and dropped.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "kernels/ops/tensor_ops.h"
#include "llm/parallel/sharded_text_model.h"
#include "tests/llm/sharded_load_host_memory_util.h"
#include "tests/support/host_heap_meter.h"

namespace mvl::test {
namespace {

TEST(ShardedLoadHostMemory, CpuRanksHeapGrowsOnlyByTheirColumnSliceCopies) {
  if (!HostHeapMeter::usable()) GTEST_SKIP() << "the heap meter does not run under ASan";
  const WideCheckpoint w = write_wide_checkpoint("sharded_host_memory");
  const Checkpoint ckpt = Checkpoint::open(w.dir);
  const auto naming = llm::TextWeightNaming::detect(ckpt);
  // What the column split copies at tp N: every out_proj / o_proj, split N ways, once.
  uint64_t column_tensors = 0;
  llm::for_each_text_tensor(w.cfg, naming, [&](const llm::TextTensor& t) {
    if (t.role == llm::TextRole::lightning_out || t.role == llm::TextRole::attn_o)
      column_tensors += static_cast<uint64_t>(t.shape[0] * t.shape[1]) * 4;
  });
  for (const int N : {1, 2, 4, 8}) {
    SCOPED_TRACE(N);
    const uint64_t before = HostHeapMeter::live();
    HostHeapMeter::reset_peak();
    std::vector<llm::ShardLoadStats> stats;
    uint64_t held = 0, peak = 0, copied = 0, largest = 0;
    {
      const llm::ShardedTextModel m = llm::ShardedTextModel::load(ckpt, w.cfg, naming, N, {}, &stats);
      held = HostHeapMeter::live() - before;
      peak = HostHeapMeter::peak() - before;
      for (const auto& s : stats) {
        copied += s.copied_bytes;
        largest = std::max(largest, s.largest_slice);
      }
    }
    std::printf("tp %d: host heap peak %llu B, held %llu B (column-slice copies %llu B, the "
                "model %llu B, largest slice %llu B)\n",
                N, static_cast<unsigned long long>(peak), static_cast<unsigned long long>(held),
                static_cast<unsigned long long>(copied), static_cast<unsigned long long>(w.text_bytes),
                static_cast<unsigned long long>(largest));
    // tp 1 splits nothing: every weight is a view of the mapping.
    EXPECT_EQ(copied, N == 1 ? 0 : column_tensors);
    // The ranks' copies and small per-rank tables (slopes, communicator, state scratch): at
    // most 64 KiB beyond the copies, and nothing transient beyond one slice.
    EXPECT_LE(held, copied + 64 * 1024);
    EXPECT_LE(peak, held + largest);
    EXPECT_LT(peak, w.text_bytes / 8) << "the loader held a large part of the model on the heap";
    EXPECT_LE(HostHeapMeter::live(), before + 64 * 1024) << "the model's host memory outlived it";
  }
}

// The meter itself can fail: a loader that reads every tensor into memory first (what
// Checkpoint::get + contiguous copies would do) shows up as the model's size.
TEST(ShardedLoadHostMemory, TheMeterSeesAWholeModelCopy) {
  if (!HostHeapMeter::usable()) GTEST_SKIP() << "the heap meter does not run under ASan";
  const WideCheckpoint w = write_wide_checkpoint("sharded_host_memory_meter");
  const Checkpoint ckpt = Checkpoint::open(w.dir);
  const uint64_t before = HostHeapMeter::live();
  HostHeapMeter::reset_peak();
  {
    std::vector<Tensor> copies;
    llm::for_each_text_tensor(w.cfg, llm::TextWeightNaming::detect(ckpt),
                              [&](const llm::TextTensor& t) { copies.push_back(ops::clone(ckpt.get(t.name))); });
  }
  EXPECT_GE(HostHeapMeter::peak() - before, w.text_bytes);
  EXPECT_LE(HostHeapMeter::live(), before + 4096);
}

}  // namespace
}  // namespace mvl::test
