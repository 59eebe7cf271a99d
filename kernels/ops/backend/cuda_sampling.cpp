// The CUDA branch of ops sampling (sampling.h): the argmax reduction (which also flags NaN/+Inf
// for greedy decoding) and the full sampler; the chosen id stays on the device.
#include <algorithm>

#include "kernels/cuda/sampling.h"
#include "kernels/cuda/storage.h"
#include "kernels/cuda/tensor_ops.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/backend/cuda_context.h"

namespace mvl::ops::cuda_backend {

Tensor argmax_rows(const Tensor& logits) {
  const Tensor l2 = logits.ndim() == 1 ? logits.unsqueeze(0) : logits;
  const detail::CtxPtr ctx = detail::cuda_ctx({&logits}, "argmax_rows");
  const Tensor lc = detail::dev_contiguous(l2, ctx);
  Tensor out = detail::dev_empty({lc.dim(0)}, DType::i32, ctx);
  cuda::argmax(*ctx, lc, out);
  return out;
}

Tensor sample(const Tensor& row, const SamplingParams& p, double u, const std::vector<int32_t>& hist, int64_t limit,
              bool plain_greedy) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&row}, "sample");
  Tensor out = detail::dev_uninit({2}, DType::i32, ctx);
  if (plain_greedy) {
    // The default, official-example path: one reduction over the candidate prefix that
    // also flags NaN/+Inf, no work copy.
    const Tensor lc = detail::dev_contiguous(row.slice(0, 0, limit), ctx).unsqueeze(0);
    cuda::argmax(*ctx, lc, out.slice(0, 0, 1), out.slice(0, 1, 2));
    return out;
  }
  const Tensor lc = detail::dev_contiguous(row, ctx);
  Tensor h;
  if (!hist.empty()) {
    Tensor host = Tensor::empty({static_cast<int64_t>(hist.size())}, DType::i32);
    std::copy(hist.begin(), hist.end(), host.data<int32_t>());
    h = cuda::to_device(host, *ctx);
  }
  cuda::SampleArgs a;
  a.limit = limit;
  a.temperature = p.temperature;
  a.top_k = p.top_k;
  a.top_p = p.top_p;
  a.repetition_penalty = p.repetition_penalty;
  a.u = u;
  cuda::sample(*ctx, lc, h, a, out);
  return out;
}

}  // namespace mvl::ops::cuda_backend
