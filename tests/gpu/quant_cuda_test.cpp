// Weight-only quantized weights on CUDA (kernels/cuda/quant.h, quant_moe.cu) against the CPU
// dequant reference (kernels/cpu/quant.h), for int8, fp8 e4m3 and int4 g128, through the ops
// the model calls (ops::linear, ops::pack_experts + ops::moe):
//  - dequantize_to_bf16 equals bf16(the CPU's f32 dequant) bit for bit; quantizing on the GPU
//    gives the CPU's dequantized weights bit for bit;
//  - linear, bf16 activations, n = 1, 5, 64 (GEMV) and 65, 200 (dequant + GEMM): within 2x a
//    plain bf16 implementation's error (f32 dot of the same bf16 inputs, one rounding) + 1e-3;
//    f32 activations within 1e-5 of the f64 reference;
//  - MoE, n = 1, 3, 9, 64 (grouped decode kernels) and 65, 200 (prefill): within 4x the plain
//    bf16 MoE's error (bf16 expert hidden and outputs, f32 sums) + 1e-3, as tests/gpu/moe_test.
//    fp8 prefill on a GPU with FP8 GEMMs (cuda::fp8_gemm_available) quantizes each expert GEMM's
//    activation rows (x, then the hidden h) to e4m3 per row; the fp64 reference and the plain
//    MoE do the same at the same two points (cpu::quantize's rule), so the bound is unchanged:
//    x's codes are identical everywhere, and h's codes differ only where the hidden values
//    straddle an e4m3 rounding boundary, which the plain MoE's own hidden values do as often.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include <cmath>
#include <tuple>

#include "kernels/cpu/quant.h"
#include "kernels/cuda/fp8_gemm.h"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/quant.h"
#include "kernels/ops/device.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/moe.h"
#include "kernels/ops/quant.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/gpu/gpu_test_util.h"

namespace mvl {
namespace {

using namespace gpu_test;

const WeightFormat kFormats[] = {WeightFormat::int8, WeightFormat::fp8_e4m3, WeightFormat::int4};

std::vector<float> host_values(const Tensor& t) {
  const Tensor c = contiguous(t.device().is_cuda() ? ops::to_device(t, Device::cpu()) : t);
  const Tensor f = c.dtype() == DType::f32 ? c : ops::cast(c, DType::f32);
  return std::vector<float>(f.data<float>(), f.data<float>() + f.numel());
}

TEST(QuantCuda, DequantAndDeviceQuantizeAreBitExact) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  const int64_t out = 40, in = 200;  // int4: one partial group; odd-free but not chunk-aligned
  const std::vector<float> wv = rand_bf16(out * in, 7, -0.5f, 0.5f);
  const Tensor w = host_bf16({out, in}, wv);
  for (WeightFormat f : kFormats) {
    const Tensor q = ops::quantize_weight(w, f);
    const std::vector<float> cpu = host_values(ops::dequantize_weight(q));
    const std::vector<float> gpu =
        host_values(ops::dequantize_to_bf16(ops::quant_to_device(q, dev)));
    const std::vector<float> gq =
        host_values(ops::dequantize_to_bf16(ops::quantize_weight(ops::to_device(w, dev), f)));
    int64_t bad = 0, bad_q = 0;
    for (size_t i = 0; i < cpu.size(); ++i) {
      bad += gpu[i] != round_bf16(cpu[i]);
      bad_q += gq[i] != round_bf16(cpu[i]);
    }
    EXPECT_EQ(bad, 0) << weight_format_name(f) << ": dequantize_to_bf16 differs from the CPU";
    EXPECT_EQ(bad_q, 0) << weight_format_name(f) << ": GPU quantization differs from the CPU";
  }
}

class QuantLinear : public ::testing::TestWithParam<std::tuple<int, int64_t>> {};

TEST_P(QuantLinear, MatchesCpuDequantReference) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const WeightFormat f = kFormats[std::get<0>(GetParam())];
  const int64_t n = std::get<1>(GetParam()), out = 96, in = 320;
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  const Tensor q =
      ops::quantize_weight(Tensor::from_f32({out, in}, rand_bf16(out * in, 3, -0.1f, 0.1f)), f);
  const std::vector<float> wd = host_values(ops::dequantize_weight(q));  // the CPU's w'
  const std::vector<float> x = rand_bf16(n * in, 4);                     // bf16 values
  std::vector<double> ref(n * out);
  std::vector<float> plain(n * out);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < out; ++o) {
      double s = 0;
      float sf = 0;
      for (int64_t k = 0; k < in; ++k) {
        s += double(x[t * in + k]) * wd[o * in + k];
        sf += x[t * in + k] * wd[o * in + k];
      }
      ref[t * out + o] = s;
      plain[t * out + o] = round_bf16(sf);
    }
  const Tensor qd = ops::quant_to_device(q, dev);
  const Tensor y = ops::linear(ops::to_device(host_bf16({n, in}, x), dev), qd);
  ASSERT_EQ(y.dtype(), DType::bf16);
  MVL_EXPECT_PARITY(host_values(y), plain, ref, 2.0, 1e-3);
  const Tensor y32 = ops::linear(ops::to_device(Tensor::from_f32({n, in}, x), dev), qd);
  EXPECT_LE(rel_err(host_values(y32), ref), 1e-5) << weight_format_name(f) << " f32, n " << n;
}

INSTANTIATE_TEST_SUITE_P(FormatsTokens, QuantLinear,
                         ::testing::Combine(::testing::Values(0, 1, 2),
                                            ::testing::Values(1, 5, 64, 65, 200)));

// v quantized to e4m3 as one row and dequantized again (the fp8 prefill's activation rule).
template <typename T>
std::vector<T> fp8_row(const std::vector<T>& v) {
  const auto k = static_cast<int64_t>(v.size());
  std::vector<float> f(v.begin(), v.end()), d(v.size());
  std::vector<uint8_t> q(v.size());
  float s = 0;
  cpu::quantize(WeightFormat::fp8_e4m3, f.data(), DType::f32, 1, k, q.data(), &s, nullptr);
  cpu::dequantize(WeightFormat::fp8_e4m3, q.data(), &s, nullptr, k, 0, 1, d.data());
  return std::vector<T>(d.begin(), d.end());
}

class QuantMoe : public ::testing::TestWithParam<std::tuple<int, int64_t>> {};

TEST_P(QuantMoe, MatchesCpuDequantReference) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const WeightFormat f = kFormats[std::get<0>(GetParam())];
  const int64_t n = std::get<1>(GetParam()), E = 8, D = 256, F = 128;
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  const std::vector<float> x = rand_bf16(n * D, 1), wr = rand_bf16(E * D, 2, -0.3f, 0.3f);
  const auto& cctx = *std::static_pointer_cast<const cuda::Context>(dev.backend());
  const bool act_fp8 = f == WeightFormat::fp8_e4m3 && n > cuda::kMoeDecodeMaxTokens &&
                       cuda::fp8_gemm_available(cctx);
  const auto act = [&](auto v) { return act_fp8 ? fp8_row(v) : v; };
  std::vector<ops::ExpertWeights> experts;
  std::vector<std::vector<float>> w13d(E), w2d(E);  // dequantized [2F, D] and [D, F]
  for (int64_t e = 0; e < E; ++e) {
    const auto s = static_cast<uint32_t>(10 + 3 * e);
    ops::ExpertWeights w{
        ops::quantize_weight(Tensor::from_f32({F, D}, rand_bf16(F * D, s, -0.2f, 0.2f)), f),
        ops::quantize_weight(Tensor::from_f32({F, D}, rand_bf16(F * D, s + 1, -0.2f, 0.2f)), f),
        ops::quantize_weight(Tensor::from_f32({D, F}, rand_bf16(D * F, s + 2, -0.2f, 0.2f)), f)};
    w13d[e] = host_values(ops::dequantize_weight(w.w1));
    const auto up = host_values(ops::dequantize_weight(w.w3));
    w13d[e].insert(w13d[e].end(), up.begin(), up.end());
    w2d[e] = host_values(ops::dequantize_weight(w.w2));
    experts.push_back(std::move(w));
  }
  // The fp64 reference and the plain bf16 MoE on the dequantized weights (moe_test's rules).
  std::vector<double> ref(n * D, 0);
  std::vector<float> plain(n * D, 0);
  for (int64_t t = 0; t < n; ++t) {
    std::vector<double> p(E);
    double mx = -INFINITY, sum = 0;
    for (int64_t e = 0; e < E; ++e) {
      double s = 0;
      for (int64_t j = 0; j < D; ++j) s += double(x[t * D + j]) * wr[e * D + j];
      p[e] = s;
      mx = std::max(mx, s);
    }
    for (auto& v : p) sum += (v = std::exp(v - mx));
    int e1 = 0;
    for (int e = 1; e < E; ++e)
      if (p[e] > p[e1]) e1 = e;
    int e2 = e1 == 0 ? 1 : 0;
    for (int e = 0; e < E; ++e)
      if (e != e1 && p[e] > p[e2]) e2 = e;
    const std::vector<float> xt =
        act(std::vector<float>(x.begin() + t * D, x.begin() + (t + 1) * D));
    for (int e : {std::min(e1, e2), std::max(e1, e2)}) {
      const double wgt = p[e] / (p[e1] + p[e2]);
      std::vector<double> hh(F);
      std::vector<float> hf(F);
      for (int64_t j = 0; j < F; ++j) {
        double g = 0, u = 0;
        for (int64_t c = 0; c < D; ++c) {
          g += double(w13d[e][j * D + c]) * xt[c];
          u += double(w13d[e][(F + j) * D + c]) * xt[c];
        }
        hh[j] = g / (1 + std::exp(-g)) * u;
        const float gb = round_bf16(float(g)), ub = round_bf16(float(u));
        hf[j] = round_bf16(round_bf16(gb / (1.f + std::exp(-gb))) * ub);
      }
      hh = act(hh);
      hf = act(hf);
      for (int64_t i = 0; i < D; ++i) {
        double y = 0;
        float yf = 0;
        for (int64_t j = 0; j < F; ++j) {
          y += double(w2d[e][i * F + j]) * hh[j];
          yf += w2d[e][i * F + j] * hf[j];
        }
        ref[t * D + i] += wgt * y;
        plain[t * D + i] += float(wgt) * round_bf16(yf);
      }
    }
  }
  for (auto& v : plain) v = round_bf16(v);
  std::vector<ops::ExpertWeights> views;
  const ops::PackedExperts packed = ops::pack_experts(experts, dev, &views);
  ASSERT_TRUE(packed.defined() && packed.w13.quant());
  const Tensor gate = ops::to_device(host_bf16({E, D}, wr), dev);
  const Tensor y = ops::moe(ops::to_device(host_bf16({n, D}, x), dev), gate, 2, views, &packed);
  MVL_EXPECT_PARITY(host_values(y), plain, ref, 4.0, 1e-3);
  EXPECT_TRUE(cuda::quant_moe_supported(
      {gate, cuda::quant_matrix(packed.w13), cuda::quant_matrix(packed.w2), E, D, F}))
      << "the tuned kernels must take these shapes";
}

INSTANTIATE_TEST_SUITE_P(FormatsTokens, QuantMoe,
                         ::testing::Combine(::testing::Values(0, 1, 2),
                                            ::testing::Values(1, 3, 9, 64, 65, 200)));

}  // namespace
}  // namespace mvl
#else
TEST(QuantCudaNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
