// ops sampling: the RNG, validation and dispatch.
#include "kernels/ops/sampling.h"

#include <cmath>

#include "kernels/core/error.h"
#include "kernels/cpu/sampling.h"
#include "kernels/ops/cuda_dispatch.h"
#include "kernels/ops/tensor_ops.h"
#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/tensor_ops.h"
#endif

namespace mvl::ops {

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

Tensor host_logits(const Tensor& logits, const char* op) {
  MVL_CHECK(logits.ndim() == 1 && logits.dtype() == DType::f32 && logits.dim(0) > 0, shape_mismatch,
            "{}: logits must be f32 [vocab], got {}", op, logits.str());
  MVL_CHECK(logits.device().is_cpu(), unsupported, "{}: device tensors go through the CUDA backend", op);
  return logits;
}
}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = splitmix64(x);
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::next_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

Tensor argmax_rows(const Tensor& logits) {
  MVL_CHECK((logits.ndim() == 1 || logits.ndim() == 2) &&
                (logits.dtype() == DType::f32 || logits.dtype() == DType::bf16) && logits.dim(-1) > 0,
            shape_mismatch, "argmax_rows: logits must be f32|bf16 [n, vocab] or [vocab], got {}", logits.str());
  const Tensor l2 = logits.ndim() == 1 ? logits.unsqueeze(0) : logits;
#ifdef MVL_HAVE_CUDA
  if (detail::any_cuda({&logits})) {
    const detail::CtxPtr ctx = detail::cuda_ctx({&logits}, "argmax_rows");
    const Tensor lc = detail::dev_contiguous(l2, ctx);
    Tensor out = detail::dev_empty({lc.dim(0)}, DType::i32, ctx);
    cuda::argmax(*ctx, lc, out);
    return out;
  }
#endif
  const Tensor lc = l2.dtype() == DType::f32 ? contiguous(l2) : cast(l2, DType::f32);
  Tensor out = Tensor::empty({lc.dim(0)}, DType::i32);
  for (int64_t r = 0; r < lc.dim(0); ++r) out.data<int32_t>()[r] = cpu::argmax(lc.data<float>() + r * lc.dim(1), lc.dim(1));
  return out;
}

int32_t argmax(const Tensor& logits) {
  if (logits.defined() && logits.device().is_cuda()) {
    const Tensor id = to_device(argmax_rows(logits), Device::cpu());
    return id.data<int32_t>()[0];
  }
  Tensor l = contiguous(host_logits(logits, "argmax"));
  return cpu::argmax(l.data<float>(), l.dim(0));
}

int32_t sample(const Tensor& logits, const SamplingParams& p, Rng& rng, const std::vector<int32_t>& history) {
  host_logits(logits, "sample");
  MVL_CHECK(std::isfinite(p.temperature) && p.top_k >= 0 && p.top_p > 0.0f && p.top_p <= 1.0f &&
                p.repetition_penalty > 0.0f,
            invalid_argument,
            "sample: bad parameters (temperature {}, top_k {}, top_p {} must be in (0, 1], repetition penalty {} "
            "must be > 0)",
            p.temperature, p.top_k, p.top_p, p.repetition_penalty);
  Tensor work = Tensor::empty(logits.shape(), DType::f32);
  copy_to_contiguous(logits, work.data());
  // Draw even when greedy so a stream's RNG position does not depend on the settings.
  const double u = rng.next_double();
  return cpu::sample(work.data<float>(), work.dim(0), p.temperature, p.top_k, p.top_p, p.repetition_penalty,
                     history, u);
}

}  // namespace mvl::ops
