// The lightning decode kernels of lightning_decode.h (every LightningDecodeTuning::kernel) vs an
// fp64 recurrence and the CPU twin (cpu::lightning_recurrent, f32; its output rounded to bf16
// is the "plain bf16" of the design.md rule: <= 4x its error). B = 5 sequences x 3 heads, a
// non-zero initial state, 3 steps, q/k/v strided views into a fused qkv buffer; the state must
// equal kernel 0's bit for bit (the same update expression) and be within 1e-5 of fp64; the
// gather form (lightning_decode_gather: states apart) must give the contiguous form's bits.
// Without the CUDA backend the file reduces to one test that skips (fails under MVL_REQUIRE_GPU=1).
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/lightning_decode.h"

#include <cmath>

#include "kernels/cpu/lightning.h"
#include "kernels/cuda/lightning.h"
#include "tests/gpu/gpu_test_util.h"

namespace mvl {
namespace {

using namespace gpu_test;
constexpr int kD = 128;

TEST(LightningDecodeKernels, EveryKernelMatchesTheRecurrence) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const int B = 5, H = 3, steps = 3;
  const std::vector<float> slopes = {4.52707e-01f, 3.08551e-02f, 1.92844e-03f};
  cuda::Context ctx(0);
  const auto st0 = rand_bf16(size_t(B) * H * kD * kD, 51, -0.5f, 0.5f);
  // qkv [steps * B, H, 3 * 128]: row s * B + b is sequence b's token of step s.
  const auto qkv = rand_bf16(size_t(steps) * B * H * 3 * kD, 52, -1.f, 1.f);

  // fp64 recurrence and the CPU twin, per sequence.
  std::vector<double> ref_o(size_t(steps) * B * H * kD), ref_s(st0.begin(), st0.end());
  std::vector<float> plain_o(ref_o.size()), twin_s(st0.begin(), st0.end());
  for (int b = 0; b < B; ++b)
    for (int s = 0; s < steps; ++s) {
      const size_t row = size_t(s) * B + b;
      for (int h = 0; h < H; ++h) {
        const float* q = &qkv[(row * H + h) * 3 * kD];
        const float *k = q + kD, *v = q + 2 * kD;
        double* S = &ref_s[(size_t(b) * H + h) * kD * kD];
        const double lam = std::exp(-double(slopes[h]));
        for (int i = 0; i < kD; ++i)
          for (int j = 0; j < kD; ++j) S[i * kD + j] = lam * S[i * kD + j] + double(k[i]) * v[j];
        for (int j = 0; j < kD; ++j) {
          double o = 0;
          for (int i = 0; i < kD; ++i) o += double(q[i]) * S[i * kD + j];
          ref_o[(row * H + h) * kD + j] = o;
        }
      }
      std::vector<float> out(size_t(H) * kD);
      cpu::LightningArgs a{};
      a.q = &qkv[row * H * 3 * kD];
      a.k = a.q + kD;
      a.v = a.q + 2 * kD;
      a.q_s0 = a.k_s0 = a.v_s0 = H * 3 * kD;
      a.q_s1 = a.k_s1 = a.v_s1 = 3 * kD;
      a.slopes = slopes.data();
      a.state = &twin_s[size_t(b) * H * kD * kD];
      a.out = out.data();
      a.n = 1;
      a.heads = H;
      a.d = kD;
      cpu::lightning_recurrent(a);
      for (size_t i = 0; i < out.size(); ++i) plain_o[row * H * kD + i] = round_bf16(out[i]);
    }
  EXPECT_LE(rel_err(twin_s, ref_s), 1e-5);

  const Tensor qkv_d = dev_bf16(ctx, {steps * B, H, 3 * kD}, qkv);
  const Tensor sl = dev_f32(ctx, {H}, slopes);
  auto run = [&](int kernel, std::vector<float>& o_out, std::vector<float>& s_out) {
    Tensor st = dev_f32(ctx, {B, H, kD, kD}, st0);
    Tensor o = cuda::empty({steps * B, H, kD}, DType::bf16, ctx);
    for (int s = 0; s < steps; ++s) {
      const Tensor r = qkv_d.slice(0, s * B, s * B + B);
      cuda::lightning_decode(ctx, r.slice(2, 0, kD), r.slice(2, kD, 2 * kD),
                             r.slice(2, 2 * kD, 3 * kD), sl, st, o.slice(0, s * B, s * B + B),
                             cuda::LightningDecodeTuning{kernel});
    }
    o_out = download(ctx, o);
    s_out = download(ctx, st);
  };
  std::vector<float> o0, s0;
  run(0, o0, s0);
  for (int kernel = 0; kernel < cuda::kLightningDecodeKernels; ++kernel) {
    SCOPED_TRACE(cuda::lightning_decode_kernel_name(kernel));
    std::vector<float> o, s;
    run(kernel, o, s);
    MVL_EXPECT_PARITY(o, plain_o, ref_o, 4.0, 1e-4);
    EXPECT_LE(rel_err(s, ref_s), 1e-5);
    int64_t diff = 0;
    for (size_t i = 0; i < s.size(); ++i) diff += s[i] != s0[i];
    EXPECT_EQ(diff, 0) << "state differs from kernel 0's";
  }
  std::vector<float> o, s;
  EXPECT_THROW(run(cuda::kLightningDecodeKernels, o, s), Error);

  // The gather form (states apart, addresses in an i64 device array, sequences in a shuffled
  // order) gives the contiguous form's bits: same kernel, another base pointer per sequence.
  const int order[B] = {3, 0, 4, 1, 2};  // state tensor order[b] is sequence b's
  for (int kernel = 0; kernel < cuda::kLightningDecodeKernels; ++kernel) {
    SCOPED_TRACE("gather, " + cuda::lightning_decode_kernel_name(kernel));
    const int used = kernel == 0 ? cuda::kLightningDecodeGatherDefault : kernel;
    std::vector<float> want_o, want_s;
    run(used, want_o, want_s);
    std::vector<Tensor> states(B);
    Tensor ptrs_h = Tensor::empty({B}, DType::i64);
    for (int b = 0; b < B; ++b) {
      const size_t n1 = size_t(H) * kD * kD;
      states[order[b]] = dev_f32(ctx, {H, kD, kD},
                                 std::vector<float>(st0.begin() + b * n1, st0.begin() + (b + 1) * n1));
    }
    for (int b = 0; b < B; ++b)
      ptrs_h.data<int64_t>()[b] = reinterpret_cast<int64_t>(states[order[b]].data());
    const Tensor ptrs = cuda::to_device(ptrs_h, ctx);
    Tensor og = cuda::empty({steps * B, H, kD}, DType::bf16, ctx);
    for (int st = 0; st < steps; ++st) {
      const Tensor r = qkv_d.slice(0, st * B, st * B + B);
      cuda::lightning_decode_gather(ctx, r.slice(2, 0, kD), r.slice(2, kD, 2 * kD),
                                    r.slice(2, 2 * kD, 3 * kD), sl, ptrs,
                                    og.slice(0, st * B, st * B + B), cuda::LightningDecodeTuning{kernel});
    }
    EXPECT_EQ(download(ctx, og), want_o);
    for (int b = 0; b < B; ++b) {
      const std::vector<float> got = download(ctx, states[order[b]]);
      const size_t n1 = size_t(H) * kD * kD;
      int64_t diff = 0;
      for (size_t i = 0; i < n1; ++i) diff += got[i] != want_s[b * n1 + i];
      EXPECT_EQ(diff, 0) << "sequence " << b;
    }
  }
}

}  // namespace
}  // namespace mvl
#else
TEST(LightningDecodeKernelsNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
