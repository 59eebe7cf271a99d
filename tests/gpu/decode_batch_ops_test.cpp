// The batched decode ops (kernels/ops/decode_batch.h) on a GPU against the single-sequence ops
// the model's per-sequence loop calls, on separately allocated per-sequence buffers of
// different capacities and lengths (what TextModel::decode_batch hands them):
//  - attention_decode_batch with DecodeSplits::per_sequence == attention_cached per sequence,
//    bit for bit (flash_decode_gather with each sequence's own split count); with
//    DecodeSplits::batch within bf16 rounding of it;
//  - append_kv_batch == per-row copies, every cache byte (bf16 d 128 and f32 d 16 rows);
//  - lightning_decode_batch: states bit-identical to lightning_recurrent per sequence, for every
//    row kernel; o within bf16 rounding (another kernel sums q . S in another order).
// Labelled gpu: skips without a GPU, fails under MVL_REQUIRE_GPU=1.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include <cstring>

#include "kernels/cuda/lightning_decode.h"
#include "kernels/ops/attention.h"
#include "kernels/ops/decode_batch.h"
#include "kernels/ops/device.h"
#include "kernels/ops/lightning.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/gpu/gpu_test_util.h"

namespace mvl {
namespace {

using namespace gpu_test;

Tensor up_bf16(const ops::DeviceContext& dev, const Shape& s, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return ops::to_device(host_bf16(s, rand_bf16(static_cast<size_t>(n), seed, lo, hi)), dev);
}
template <typename T>
Tensor up_table(const ops::DeviceContext& dev, const std::vector<T>& v, DType dt) {
  Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, dt);
  std::memcpy(t.data(), v.data(), v.size() * sizeof(T));
  return ops::to_device(t, dev);
}
std::vector<uint8_t> bytes(const Tensor& t) {
  const Tensor h = ops::to_device(ops::clone(t), Device::cpu());
  const auto* p = static_cast<const uint8_t*>(h.data());
  return std::vector<uint8_t>(p, p + h.nbytes());
}
std::vector<float> floats(const Tensor& t) {
  const Tensor h = ops::to_device(t.dtype() == DType::f32 ? ops::clone(t) : ops::cast(t, DType::f32), Device::cpu());
  return std::vector<float>(h.data<float>(), h.data<float>() + h.numel());
}

struct AttnCase {
  int64_t H, Hkv;
};
class AttentionDecodeBatch : public ::testing::TestWithParam<AttnCase> {};

TEST_P(AttentionDecodeBatch, PerSequenceSplitsEqualAttentionCachedBitForBit) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const AttnCase c = GetParam();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  constexpr int64_t kD = 128;
  // Capacities and rows (the new token's position): short, long, full, one key, odd.
  const std::vector<int64_t> caps = {64, 1000, 4096, 300, 128, 2048};
  const std::vector<int64_t> rows = {0, 999, 2500, 37, 127, 1100};
  const int64_t B = static_cast<int64_t>(caps.size());
  ops::KvBatch kv;
  std::vector<int64_t> kp, vp;
  std::vector<int32_t> lens;
  for (int64_t b = 0; b < B; ++b) {
    // Whole buffers random: rows past the length hold garbage the kernel must not read.
    kv.k.push_back(up_bf16(dev, {caps[b], c.Hkv, kD}, 100 + static_cast<uint32_t>(b)));
    kv.v.push_back(up_bf16(dev, {caps[b], c.Hkv, kD}, 200 + static_cast<uint32_t>(b)));
    kv.rows.push_back(rows[b]);
    kp.push_back(ops::buffer_address(kv.k.back()));
    vp.push_back(ops::buffer_address(kv.v.back()));
    lens.push_back(static_cast<int32_t>(rows[b] + 1));
  }
  kv.k_ptrs = up_table(dev, kp, DType::i64);
  kv.v_ptrs = up_table(dev, vp, DType::i64);
  std::vector<int32_t> rows32(rows.begin(), rows.end());
  kv.rows_dev = up_table(dev, rows32, DType::i32);
  kv.lens_dev = up_table(dev, lens, DType::i32);
  const std::vector<int32_t> splits = ops::decode_split_counts(dev, c.H, c.Hkv, kD, DType::bf16, caps);
  kv.splits_dev = up_table(dev, splits, DType::i32);
  const Tensor q = up_bf16(dev, {B, c.H, kD}, 7);
  const float scale = 1.f / std::sqrt(static_cast<float>(kD));

  const Tensor got = ops::attention_decode_batch(q, kv, scale, ops::DecodeSplits::per_sequence);
  const Tensor fill = ops::attention_decode_batch(q, kv, scale, ops::DecodeSplits::batch);
  ASSERT_EQ(got.shape(), q.shape());
  for (int64_t b = 0; b < B; ++b) {
    SCOPED_TRACE("sequence " + std::to_string(b) + " (" + std::to_string(splits[b]) + " splits)");
    const Tensor one = ops::attention_cached(q.slice(0, b, b + 1), kv.k[b], kv.v[b], scale,
                                             kv.lens_dev.slice(0, b, b + 1));
    EXPECT_EQ(bytes(got.slice(0, b, b + 1)), bytes(one));
    const double e = rel_err(floats(fill.slice(0, b, b + 1)), floats(one));
    EXPECT_LE(e, 1e-2);
    std::printf("  H %lld Hkv %lld seq %lld: %d splits, batch-split rel err %.3g\n", (long long)c.H,
                (long long)c.Hkv, (long long)b, splits[b], e);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionDecodeBatch,
                         ::testing::Values(AttnCase{64, 8}, AttnCase{16, 2}, AttnCase{8, 8}));

TEST(AppendKvBatch, WritesEachRowIntoItsOwnCache) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  for (const auto& [dt, Hkv, d] : {std::tuple{DType::bf16, int64_t{8}, int64_t{128}},
                                    std::tuple{DType::f32, int64_t{2}, int64_t{16}}}) {
    SCOPED_TRACE(dtype_name(dt));
    const std::vector<int64_t> caps = {64, 5, 300, 17};
    const std::vector<int64_t> rows = {63, 0, 200, 9};
    const int64_t B = 4;
    ops::KvBatch a, b;
    std::vector<int64_t> kp, vp;
    for (int64_t i = 0; i < B; ++i) {
      Tensor k = up_bf16(dev, {caps[i], Hkv, d}, 300 + static_cast<uint32_t>(i));
      Tensor v = up_bf16(dev, {caps[i], Hkv, d}, 400 + static_cast<uint32_t>(i));
      if (dt == DType::f32) {
        k = ops::cast(k, DType::f32);
        v = ops::cast(v, DType::f32);
      }
      a.k.push_back(k);
      a.v.push_back(v);
      b.k.push_back(ops::clone(k));
      b.v.push_back(ops::clone(v));
      a.rows.push_back(rows[i]);
      kp.push_back(ops::buffer_address(k));
      vp.push_back(ops::buffer_address(v));
    }
    b.rows = a.rows;
    a.k_ptrs = up_table(dev, kp, DType::i64);
    a.v_ptrs = up_table(dev, vp, DType::i64);
    std::vector<int32_t> r32(rows.begin(), rows.end());
    a.rows_dev = up_table(dev, r32, DType::i32);
    Tensor kn = up_bf16(dev, {B, Hkv, d}, 500), vn = up_bf16(dev, {B, Hkv, d}, 501);
    if (dt == DType::f32) {
      kn = ops::cast(kn, DType::f32);
      vn = ops::cast(vn, DType::f32);
    }
    ops::append_kv_batch(kn, vn, a);
    for (int64_t i = 0; i < B; ++i) {
      ops::copy_into(b.k[i].slice(0, rows[i], rows[i] + 1), kn.slice(0, i, i + 1));
      ops::copy_into(b.v[i].slice(0, rows[i], rows[i] + 1), vn.slice(0, i, i + 1));
    }
    for (int64_t i = 0; i < B; ++i) {
      EXPECT_EQ(bytes(a.k[i]), bytes(b.k[i])) << "K cache " << i;
      EXPECT_EQ(bytes(a.v[i]), bytes(b.v[i])) << "V cache " << i;
    }
  }
}

TEST(LightningDecodeBatch, StatesEqualThePerSequenceStepsForEveryRowKernel) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  constexpr int64_t kD = 128, H = 4, B = 6;
  const Tensor slopes = ops::to_device(Tensor::from_f32({H}, {0.45f, 0.03f, 0.002f, 0.2f}), dev);
  for (int kernel = 0; kernel < cuda::kLightningDecodeKernels; ++kernel) {
    SCOPED_TRACE("kernel " + std::to_string(kernel));
    // q/k/v: strided views into a fused [B, H, 3 * 128] projection, as the model's.
    const Tensor qkv = up_bf16(dev, {B, H, 3 * kD}, 600 + static_cast<uint32_t>(kernel));
    const Tensor q = qkv.slice(2, 0, kD), k = qkv.slice(2, kD, 2 * kD), v = qkv.slice(2, 2 * kD, 3 * kD);
    std::vector<Tensor> sa, sb;
    std::vector<int64_t> ptrs;
    for (int64_t b = 0; b < B; ++b) {
      sa.push_back(ops::cast(up_bf16(dev, {H, kD, kD}, 700 + static_cast<uint32_t>(b), -0.5f, 0.5f), DType::f32));
      sb.push_back(ops::clone(sa.back()));
      ptrs.push_back(ops::buffer_address(sa.back()));
    }
    const Tensor o = ops::lightning_decode_batch(q, k, v, slopes, sa, up_table(dev, ptrs, DType::i64), kernel);
    ASSERT_EQ(o.shape(), (Shape{B, H, kD}));
    for (int64_t b = 0; b < B; ++b) {
      const Tensor one = ops::lightning_recurrent(q.slice(0, b, b + 1), k.slice(0, b, b + 1), v.slice(0, b, b + 1),
                                                  slopes, sb[b]);
      EXPECT_EQ(bytes(sa[b]), bytes(sb[b])) << "state of sequence " << b;
      EXPECT_LE(rel_err(floats(o.slice(0, b, b + 1)), floats(one)), 1e-2) << "o of sequence " << b;
    }
  }
}

}  // namespace
}  // namespace mvl

#else
TEST(DecodeBatchOpsNoCuda, SkipsWithoutTheCudaBackend) { MVL_REQUIRE_GPU_OR_SKIP(); }
#endif
