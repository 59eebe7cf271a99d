// CUDA graph capture (cuda::Graph through ops::CudaGraph): a step of a few ops (f32 linear,
// RMSNorm, a cuBLASLt bf16 GEMM, positions_from, write_rows_at) with temporaries allocated
// and freed inside, replayed 10 times, gives exactly the eager results without growing the
// pool; replays read the decode position from device memory (changed eagerly between
// replays, or advanced by the graph itself); and the capture errors (a host sync inside, a
// temporary escaping, a pre-capture tensor freed inside, scratch growth, nesting) throw
// clear Errors and leave the stream usable. Without the CUDA backend the file reduces to
// one test that skips, or fails under MVL_REQUIRE_GPU=1.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cuda/context.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/storage.h"
#include "kernels/ops/device.h"
#include "kernels/ops/graph.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/positions.h"
#include "kernels/ops/rms_norm.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/gpu/gpu_test_util.h"

namespace mvl {
namespace {

using namespace gpu_test;

Tensor i32_tensor(const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::i32);
  std::memcpy(t.data(), v.data(), v.size() * sizeof(int32_t));
  return t;
}

std::vector<int32_t> i32_values(const Tensor& dev) {
  const Tensor h = ops::to_device(dev, Device::cpu());
  return std::vector<int32_t>(h.data<int32_t>(), h.data<int32_t>() + h.numel());
}

std::vector<float> f32_values(const Tensor& dev) {
  const Tensor h = ops::cast(ops::to_device(dev, Device::cpu()), DType::f32);
  return std::vector<float>(h.data<float>(), h.data<float>() + h.numel());
}

std::string message_of(const std::function<void()>& f, ErrorCategory* cat = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (cat) *cat = e.category();
    return e.what();
  }
  return "<no error>";
}

class CudaGraphTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::gpu_available()) return;
    dev_ = ops::DeviceContext::open(Device::cuda(0));
    ctx_ = std::static_pointer_cast<const cuda::Context>(dev_.backend());
  }
  Tensor up(const Shape& s, const std::vector<float>& v) {
    return ops::to_device(Tensor::from_f32(s, v), dev_);
  }
  // A capture that must succeed and still be usable afterwards (the stream recovered).
  void expect_stream_usable() {
    Tensor pos = ops::to_device(i32_tensor({40}), dev_);
    ops::CudaGraph g = ops::CudaGraph::capture(dev_, [&] { ops::add_scalar_(pos, 2); });
    g.launch();
    g.launch();
    EXPECT_EQ(i32_values(pos), (std::vector<int32_t>{44}));
  }

  ops::DeviceContext dev_;
  std::shared_ptr<const cuda::Context> ctx_;
};

TEST_F(CudaGraphTest, ReplayMatchesEagerAndDoesNotGrowThePool) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const int64_t n = 3, in = 64, hid = 48, out = 32, cap = 16;
  const Tensor x = up({n, in}, rand_bf16(n * in, 1)), w = up({hid, in}, rand_bf16(hid * in, 2));
  const Tensor g = up({hid}, rand_bf16(hid, 3, 0.5f, 1.5f));
  const Tensor xb = dev_bf16(*ctx_, {n, in}, rand_bf16(n * in, 4));
  const Tensor wb = dev_bf16(*ctx_, {out, in}, rand_bf16(out * in, 5));
  const Tensor pos = ops::to_device(i32_tensor({7}), dev_);
  // Outputs live outside the step (allocated before capture), like a model's buffers.
  const Tensor y_norm = ops::empty({n, hid}, DType::f32, dev_),
               y_gemm = ops::empty({n, out}, DType::f32, dev_);
  const Tensor y_pos = ops::empty({n}, DType::i32, dev_),
               cache = ops::empty({cap, hid}, DType::f32, dev_);
  const Tensor zeros_norm = ops::empty({n, hid}, DType::f32, dev_),
               zeros_gemm = ops::empty({n, out}, DType::f32, dev_);
  const Tensor zeros_pos = ops::empty({n}, DType::i32, dev_),
               zeros_cache = ops::empty({cap, hid}, DType::f32, dev_);
  auto step = [&] {
    Tensor h = ops::linear(x, w);             // f32 [n, hid] temporary
    Tensor nrm = ops::rms_norm(h, g, 1e-6f);  // f32 [n, hid] temporary
    ops::copy_into(y_norm, nrm);
    Tensor yg = cuda::empty({n, out}, DType::f32, *ctx_);  // plain-form temporary
    cuda::gemm(*ctx_, xb, wb, yg);
    cuda::copy(yg, y_gemm, *ctx_);
    ops::copy_into(y_pos, ops::positions_from(pos, n));
    ops::write_rows_at(cache, nrm, pos);
  };
  auto reset = [&] {
    ops::copy_into(y_norm, zeros_norm);
    ops::copy_into(y_gemm, zeros_gemm);
    ops::copy_into(y_pos, zeros_pos);
    ops::copy_into(cache, zeros_cache);
  };
  step();  // eager reference (also caches the GEMM plan)
  const auto ref_norm = f32_values(y_norm), ref_gemm = f32_values(y_gemm),
             ref_cache = f32_values(cache);
  const auto ref_pos = i32_values(y_pos);
  ASSERT_EQ(ref_pos, (std::vector<int32_t>{7, 8, 9}));
  ASSERT_NE(ref_norm, f32_values(zeros_norm));
  ASSERT_NE(ref_gemm, f32_values(zeros_gemm));

  ops::CudaGraph graph = ops::CudaGraph::capture(dev_, step);
  ASSERT_TRUE(graph.valid());
  EXPECT_GE(graph.node_count(), 6u);
  reset();
  dev_.synchronize();
  const cuda::PoolStats before = ctx_->pool_stats();
  for (int r = 0; r < 10; ++r) {
    reset();  // so each replay has to write everything again
    graph.launch();
    EXPECT_EQ(f32_values(y_norm), ref_norm) << "replay " << r;
    EXPECT_EQ(f32_values(y_gemm), ref_gemm) << "replay " << r;
    EXPECT_EQ(i32_values(y_pos), ref_pos) << "replay " << r;
    EXPECT_EQ(f32_values(cache), ref_cache) << "replay " << r;
  }
  dev_.synchronize();
  // The downloads above allocate and free through the pool too; nothing may have grown it.
  EXPECT_EQ(ctx_->pool_stats().reserved, before.reserved);
}

TEST_F(CudaGraphTest, ReplayReadsThePositionFromDeviceMemory) {
  MVL_REQUIRE_GPU_OR_SKIP();
  // The host advances the position between replays.
  const Tensor pos = ops::to_device(i32_tensor({5}), dev_);
  const Tensor out = ops::empty({4}, DType::i32, dev_);
  ops::CudaGraph g =
      ops::CudaGraph::capture(dev_, [&] { ops::copy_into(out, ops::positions_from(pos, 4)); });
  for (int32_t step = 0; step < 10; ++step) {
    g.launch();
    const int32_t p = 5 + step;
    EXPECT_EQ(i32_values(out), (std::vector<int32_t>{p, p + 1, p + 2, p + 3})) << "step " << step;
    ops::add_scalar_(pos, 1);
  }
  // A decode-step shape: the graph writes this step's row at the position and advances it.
  const int64_t cap = 8, h = 2, d = 3;
  const Tensor cache = ops::cast(ops::empty({cap, h, d}, DType::f32, dev_), DType::bf16);
  const Tensor row = ops::cast(ops::empty({1, h, d}, DType::f32, dev_), DType::bf16);
  const Tensor at = ops::to_device(i32_tensor({0}), dev_);
  ops::CudaGraph decode = ops::CudaGraph::capture(dev_, [&] {
    ops::write_rows_at(cache, row, at);
    ops::add_scalar_(at, 1);
  });
  std::vector<std::vector<float>> rows;
  for (int step = 0; step < 10; ++step) {  // the last two land past the capacity: no-ops
    rows.push_back(rand_bf16(h * d, 100 + step));
    ops::copy_into(row, ops::cast(up({1, h, d}, rows.back()), DType::bf16));
    decode.launch();
  }
  EXPECT_EQ(i32_values(at), (std::vector<int32_t>{10}));
  const auto got = f32_values(cache);
  for (int64_t r = 0; r < cap; ++r)
    for (int64_t j = 0; j < h * d; ++j) ASSERT_EQ(got[r * h * d + j], rows[r][j]) << "row " << r;
}

TEST_F(CudaGraphTest, CaptureErrorsAreClearAndLeaveTheStreamUsable) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const Tensor pos = ops::to_device(i32_tensor({3}), dev_);
  ErrorCategory cat{};

  // A host sync inside the body names the call.
  std::string m = message_of(
      [&] {
        ops::CudaGraph::capture(dev_, [&] {
          ops::add_scalar_(pos, 1);
          dev_.synchronize();
        });
      },
      &cat);
  EXPECT_EQ(cat, ErrorCategory::device) << m;
  EXPECT_NE(m.find("cudaStreamSynchronize"), std::string::npos) << m;
  EXPECT_NE(m.find("capturing a CUDA graph"), std::string::npos) << m;
  expect_stream_usable();

  // A temporary that escapes the body.
  Tensor escaped;
  m = message_of(
      [&] { ops::CudaGraph::capture(dev_, [&] { escaped = ops::positions_from(pos, 3); }); }, &cat);
  EXPECT_EQ(cat, ErrorCategory::invalid_argument) << m;
  EXPECT_NE(m.find("still alive"), std::string::npos) << m;
  escaped = Tensor();  // dropping it afterwards is harmless
  expect_stream_usable();

  // A tensor allocated before the capture and freed inside it.
  Tensor pre = ops::positions_from(pos, 2);
  m = message_of(
      [&] {
        ops::CudaGraph::capture(dev_, [&] {
          ops::add_scalar_(pre, 1);
          pre = Tensor();
        });
      },
      &cat);
  EXPECT_EQ(cat, ErrorCategory::invalid_argument) << m;
  EXPECT_NE(m.find("allocated before the capture"), std::string::npos) << m;
  expect_stream_usable();

  // Scratch: reserved up front it is usable inside; growing inside is refused.
  ctx_->reserve_scratch(1 << 20);
  void* arena = nullptr;
  ops::CudaGraph ok = ops::CudaGraph::capture(dev_, [&] {
    arena = ctx_->scratch(1 << 19);
    ops::add_scalar_(pos, 1);
  });
  EXPECT_EQ(arena, ctx_->scratch(1));
  m = message_of(
      [&] {
        ops::CudaGraph::capture(dev_, [&] {
          ops::add_scalar_(pos, 1);
          ctx_->scratch(64 << 20);
        });
      },
      &cat);
  EXPECT_EQ(cat, ErrorCategory::invalid_argument) << m;
  EXPECT_NE(m.find("reserve_scratch"), std::string::npos) << m;
  EXPECT_EQ(ctx_->scratch_bytes(), size_t{1} << 20) << "the refused growth must not have happened";
  expect_stream_usable();

  // Captures do not nest; the inner refusal surfaces through the outer capture.
  m = message_of(
      [&] {
        ops::CudaGraph::capture(dev_, [&] {
          ops::add_scalar_(pos, 1);
          ops::CudaGraph::capture(dev_, [&] { ops::add_scalar_(pos, 1); });
        });
      },
      &cat);
  EXPECT_EQ(cat, ErrorCategory::invalid_argument) << m;
  EXPECT_NE(m.find("nest"), std::string::npos) << m;
  expect_stream_usable();

  // None of the failed captures ran anything; the one good graph has not been launched.
  EXPECT_EQ(i32_values(pos), (std::vector<int32_t>{3}));
  ok.launch();
  EXPECT_EQ(i32_values(pos), (std::vector<int32_t>{4}));
}

}  // namespace
}  // namespace mvl
#else
TEST(CudaGraphNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
