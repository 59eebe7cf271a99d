// The batched decode ops (kernels/ops/decode_batch.h) on the CPU: they loop over the
// single-sequence ops, so the results must be those ops' bits; and the argument checks
// (a bad table or row is refused before anything is written). The GPU forms:
// tests/gpu/decode_batch_ops_test.cpp.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "kernels/core/error.h"
#include "kernels/ops/attention.h"
#include "kernels/ops/decode_batch.h"
#include "kernels/ops/lightning.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl {
namespace {

Tensor rand_f32(const Shape& s, uint32_t seed, float amp = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-amp, amp);
  int64_t n = 1;
  for (int64_t x : s) n *= x;
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return Tensor::from_f32(s, v);
}
std::vector<float> vec(const Tensor& t) {
  const Tensor c = ops::clone(t);
  return std::vector<float>(c.data<float>(), c.data<float>() + c.numel());
}

TEST(DecodeBatchCpuOps, AppendAndAttentionEqualThePerSequenceOps) {
  const int64_t H = 4, Hkv = 2, d = 16;
  const std::vector<int64_t> caps = {8, 3, 20}, rows = {5, 0, 19};
  const int64_t B = 3;
  ops::KvBatch kv;
  std::vector<Tensor> k2, v2;
  for (int64_t b = 0; b < B; ++b) {
    kv.k.push_back(rand_f32({caps[b], Hkv, d}, 10 + static_cast<uint32_t>(b)));
    kv.v.push_back(rand_f32({caps[b], Hkv, d}, 20 + static_cast<uint32_t>(b)));
    k2.push_back(ops::clone(kv.k.back()));
    v2.push_back(ops::clone(kv.v.back()));
    kv.rows.push_back(rows[b]);
  }
  const Tensor kn = rand_f32({B, Hkv, d}, 30), vn = rand_f32({B, Hkv, d}, 31), q = rand_f32({B, H, d}, 32);
  ops::append_kv_batch(kn, vn, kv);
  const Tensor o = ops::attention_decode_batch(q, kv, 0.25f);
  for (int64_t b = 0; b < B; ++b) {
    ops::copy_into(k2[b].slice(0, rows[b], rows[b] + 1), kn.slice(0, b, b + 1));
    ops::copy_into(v2[b].slice(0, rows[b], rows[b] + 1), vn.slice(0, b, b + 1));
    EXPECT_EQ(vec(kv.k[b]), vec(k2[b]));
    EXPECT_EQ(vec(kv.v[b]), vec(v2[b]));
    Tensor len = Tensor::empty({1}, DType::i32);
    len.data<int32_t>()[0] = static_cast<int32_t>(rows[b] + 1);
    EXPECT_EQ(vec(o.slice(0, b, b + 1)), vec(ops::attention_cached(q.slice(0, b, b + 1), k2[b], v2[b], 0.25f, len)))
        << "sequence " << b;
  }
}

TEST(DecodeBatchCpuOps, LightningEqualsThePerSequenceRecurrence) {
  const int64_t H = 3, d = 8, B = 4;
  const Tensor slopes = Tensor::from_f32({H}, {0.5f, 0.1f, 0.01f});
  const Tensor qkv = rand_f32({B, H, 3 * d}, 40);
  const Tensor q = qkv.slice(2, 0, d), k = qkv.slice(2, d, 2 * d), v = qkv.slice(2, 2 * d, 3 * d);
  std::vector<Tensor> sa, sb;
  for (int64_t b = 0; b < B; ++b) {
    sa.push_back(rand_f32({H, d, d}, 50 + static_cast<uint32_t>(b), 0.5f));
    sb.push_back(ops::clone(sa.back()));
  }
  const Tensor o = ops::lightning_decode_batch(q, k, v, slopes, sa, Tensor());
  for (int64_t b = 0; b < B; ++b) {
    const Tensor one = ops::lightning_recurrent(q.slice(0, b, b + 1), k.slice(0, b, b + 1), v.slice(0, b, b + 1),
                                                slopes, sb[b]);
    EXPECT_EQ(vec(o.slice(0, b, b + 1)), vec(one)) << "o of sequence " << b;
    EXPECT_EQ(vec(sa[b]), vec(sb[b])) << "state of sequence " << b;
  }
}

TEST(DecodeBatchCpuOps, RefusesMismatchedArguments) {
  const Tensor kn = rand_f32({2, 1, 4}, 1), vn = rand_f32({2, 1, 4}, 2), q = rand_f32({2, 1, 4}, 3);
  ops::KvBatch kv;
  kv.k = {rand_f32({4, 1, 4}, 4), rand_f32({4, 1, 4}, 5)};
  kv.v = {rand_f32({4, 1, 4}, 6), rand_f32({4, 1, 4}, 7)};
  kv.rows = {1};  // one row for two sequences
  EXPECT_THROW(ops::append_kv_batch(kn, vn, kv), Error);
  kv.rows = {1, 4};  // outside the second cache
  const std::vector<float> before = vec(kv.k[0]);
  EXPECT_THROW(ops::append_kv_batch(kn, vn, kv), Error);
  EXPECT_EQ(vec(kv.k[0]), before);  // nothing written
  EXPECT_THROW(ops::attention_decode_batch(q, kv, 1.f), Error);
  kv.v[1] = rand_f32({5, 1, 4}, 8);  // K and V caches differ
  kv.rows = {1, 2};
  EXPECT_THROW(ops::attention_decode_batch(q, kv, 1.f), Error);
  const Tensor slopes = Tensor::from_f32({1}, {0.5f});
  std::vector<Tensor> states = {rand_f32({1, 4, 4}, 9)};  // one state for two rows
  EXPECT_THROW(ops::lightning_decode_batch(q, kn, vn, slopes, states, Tensor()), Error);
}

}  // namespace
}  // namespace mvl
