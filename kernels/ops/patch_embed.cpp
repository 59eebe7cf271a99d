// ops::patch_embed and ops::vit_embeddings: validation, then im2col + GEMM: cpu::patchify + the
// plain CPU GEMM, cuda::patchify_f32 + cuda::linear_f32 for f32 device tensors, or
// cuda::patchify_bf16 + the cuBLASLt bf16 GEMM for bf16 activations; the embedding step is a
// plain loop on the CPU and cuda::vit_embeddings on the device.
#include "kernels/ops/patch_embed.h"

#include "kernels/core/error.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/patch_embed.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops {

Tensor patch_embed(const Tensor& pixels, const Tensor& weight) {
  MVL_CHECK(pixels.ndim() == 4 && pixels.dim(2) == pixels.dim(3), shape_mismatch,
            "patch_embed: pixels must be [tiles, channels, S, S], got {}", pixels.str());
  MVL_CHECK(weight.ndim() == 4 && weight.dim(2) == weight.dim(3) && weight.dim(1) == pixels.dim(1), shape_mismatch,
            "patch_embed: weight {} does not match pixels {} ([D, C, k, k] expected)", weight.str(), pixels.str());
  const int64_t T = pixels.dim(0), C = pixels.dim(1), S = pixels.dim(2), k = weight.dim(2), D = weight.dim(0);
  MVL_CHECK(k > 0 && S % k == 0, shape_mismatch, "patch_embed: tile size {} is not a multiple of patch size {}", S, k);
  MVL_CHECK(pixels.dtype() == DType::f32 || (pixels.dtype() == DType::bf16 && pixels.device().is_cuda()), unsupported,
            "patch_embed: pixels must be f32 (or bf16 on a GPU: bf16 activations need the CUDA backend), got {}",
            pixels.str());
  MVL_CHECK(weight.dtype() == DType::f32 || weight.dtype() == DType::bf16, unsupported,
            "patch_embed: weight must be f32 or bf16, got {}", weight.str());
  const int64_t g = S / k, K = C * k * k;
  // The same im2col + GEMM as the CPU path, both on the device.
  if (detail::any_cuda({&pixels, &weight})) return cuda_backend::patch_embed(pixels, weight);
  MVL_CHECK(pixels.device().is_cpu() && weight.device().is_cpu(), unsupported,
            "patch_embed: device tensors go through the CUDA backend (got {})", pixels.str());
  Tensor px = contiguous(pixels), w = contiguous(weight);
  Tensor cols = Tensor::empty({T * g * g, K}, DType::f32);
  cpu::patchify(px.data<float>(), T, C, S, k, cols.data<float>());
  Tensor out = Tensor::empty({T, g * g, D}, DType::f32);
  cpu::linear(cols.data<float>(), w.data(), w.dtype(), nullptr, DType::f32, out.data<float>(), T * g * g, K, D);
  return out;
}

Tensor vit_embeddings(const Tensor& patches, const Tensor& class_emb, const Tensor& pos_emb) {
  MVL_CHECK(patches.ndim() == 3 && patches.dim(2) > 0, shape_mismatch, "vit_embeddings: patches {} must be [T, P, D]",
            patches.str());
  const int64_t T = patches.dim(0), P = patches.dim(1), D = patches.dim(2);
  MVL_CHECK(class_emb.numel() == D && class_emb.dim(-1) == D, shape_mismatch,
            "vit_embeddings: class embedding {} does not match width {}", class_emb.str(), D);
  MVL_CHECK(pos_emb.ndim() == 2 && pos_emb.dim(0) == P + 1 && pos_emb.dim(1) == D, shape_mismatch,
            "vit_embeddings: positions {} do not match [1 + {} patches, {}]", pos_emb.str(), P, D);
  for (const Tensor* t : {&patches, &class_emb, &pos_emb})
    MVL_CHECK(t->dtype() == DType::f32 || t->dtype() == DType::bf16, unsupported,
              "vit_embeddings: expected f32 or bf16, got {}", t->str());
  const DType out_dtype = patches.dtype();
  if (detail::any_cuda({&patches, &class_emb, &pos_emb}))
    return cuda_backend::vit_embeddings(patches, class_emb, pos_emb);
  MVL_CHECK(out_dtype == DType::f32, unsupported,
            "vit_embeddings: patches must be f32 on the CPU (bf16 activations need the CUDA backend), got {}",
            patches.str());
  const Tensor p = contiguous(patches), c = cast(class_emb, DType::f32), q = cast(pos_emb, DType::f32);
  Tensor out = Tensor::empty({T, P + 1, D}, DType::f32);
  const float *pp = p.data<float>(), *cp = c.data<float>(), *qp = q.data<float>();
  float* o = out.data<float>();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j <= P; ++j)
      for (int64_t d = 0; d < D; ++d)
        o[(t * (P + 1) + j) * D + d] = (j == 0 ? cp[d] : pp[(t * P + j - 1) * D + d]) + qp[j * D + d];
  return out;
}

}  // namespace mvl::ops
