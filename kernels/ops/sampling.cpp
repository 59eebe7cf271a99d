// ops sampling: the counter-based stream, validation and dispatch to cpu:: or the CUDA backend
// (backend/cuda_sampling.cpp).
#include "kernels/ops/sampling.h"

#include <cmath>
#include <limits>

#include "kernels/core/error.h"
#include "kernels/cpu/sampling.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops {

double Rng::next_double() { return cpu::sample_uniform(seed_, counter_++); }

Tensor argmax_rows(const Tensor& logits) {
  MVL_CHECK((logits.ndim() == 1 || logits.ndim() == 2) &&
                (logits.dtype() == DType::f32 || logits.dtype() == DType::bf16) && logits.dim(-1) > 0,
            shape_mismatch, "argmax_rows: logits must be f32|bf16 [n, vocab] or [vocab], got {}", logits.str());
  if (detail::any_cuda({&logits})) return cuda_backend::argmax_rows(logits);
  const Tensor l2 = logits.ndim() == 1 ? logits.unsqueeze(0) : logits;
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
  MVL_CHECK(logits.ndim() == 1 && logits.dtype() == DType::f32 && logits.dim(0) > 0, shape_mismatch,
            "argmax: logits must be f32 [vocab], got {}", logits.str());
  Tensor l = contiguous(logits);
  return cpu::argmax(l.data<float>(), l.dim(0));
}

namespace {

// 1 when any of x[0, n) is NaN or +Inf (-Inf is how a logit is masked out), else 0.
int32_t any_nonfinite(const float* x, int64_t n) {
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) bad |= !(x[i] < std::numeric_limits<float>::infinity());
  return bad;
}

}  // namespace

Tensor sample_checked(const Tensor& logits, const SamplingParams& p, double u,
                      const std::vector<int32_t>& history) {
  MVL_CHECK(logits.defined() && (logits.ndim() == 1 || (logits.ndim() == 2 && logits.dim(0) == 1)) &&
                (logits.dtype() == DType::f32 || logits.dtype() == DType::bf16) && logits.dim(-1) > 0,
            shape_mismatch, "sample: logits must be f32|bf16 [vocab] or [1, vocab], got {}",
            logits.defined() ? logits.str() : std::string("undefined"));
  MVL_CHECK(std::isfinite(p.temperature) && p.top_k >= 0 && p.top_p > 0.0f && p.top_p <= 1.0f &&
                p.repetition_penalty > 0.0f && p.vocab_limit >= 0 && u >= 0.0 && u < 1.0,
            invalid_argument,
            "sample: bad parameters (temperature {}, top_k {}, top_p {} must be in (0, 1], repetition penalty {} "
            "must be > 0, vocab limit {} >= 0)",
            p.temperature, p.top_k, p.top_p, p.repetition_penalty, p.vocab_limit);
  const Tensor row = logits.ndim() == 2 ? logits.select(0, 0) : logits;
  const int64_t V = row.dim(0);
  const int64_t limit = p.vocab_limit > 0 && p.vocab_limit < V ? p.vocab_limit : V;
  const bool plain_greedy = p.temperature <= 0.0f && p.repetition_penalty == 1.0f;
  // Each distinct history id once (the penalty applies once per id), as the CPU does.
  std::vector<int32_t> hist;
  if (p.repetition_penalty != 1.0f) {
    std::vector<char> seen(static_cast<size_t>(limit), 0);
    for (int32_t t : history)
      if (t >= 0 && t < limit && !seen[t]) {
        seen[t] = 1;
        hist.push_back(t);
      }
  }
  if (detail::any_cuda({&row})) return cuda_backend::sample(row, p, u, hist, limit, plain_greedy);
  MVL_CHECK(row.device().is_cpu(), unsupported, "sample: device tensors need the CUDA backend (got {})",
            row.str());
  Tensor out = Tensor::empty({2}, DType::i32);
  int32_t* o = out.data<int32_t>();
  if (plain_greedy) {
    const Tensor cand = row.slice(0, 0, limit);
    const Tensor c = cand.dtype() == DType::f32 ? contiguous(cand) : cast(cand, DType::f32);
    bool bad = false;
    o[0] = cpu::argmax_checked(c.data<float>(), limit, &bad);
    o[1] = bad ? 1 : 0;
    return out;
  }
  const Tensor work = row.dtype() == DType::f32 ? contiguous(row) : cast(row, DType::f32);
  o[0] = cpu::sample(work.data<float>(), V, limit, p.temperature, p.top_k, p.top_p,
                     p.repetition_penalty, hist, u);
  o[1] = any_nonfinite(work.data<float>(), limit);
  return out;
}

Tensor sample_on_device(const Tensor& logits, const SamplingParams& p, double u,
                        const std::vector<int32_t>& history) {
  return sample_checked(logits, p, u, history).slice(0, 0, 1);
}

int32_t sample(const Tensor& logits, const SamplingParams& p, Rng& rng, const std::vector<int32_t>& history) {
  const double u = rng.next_double();
  const Tensor id = sample_on_device(logits, p, u, history);
  return id.device().is_cpu() ? id.data<int32_t>()[0] : to_device(id, Device::cpu()).data<int32_t>()[0];
}

}  // namespace mvl::ops
