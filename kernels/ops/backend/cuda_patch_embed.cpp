// The CUDA branch of ops::patch_embed and ops::vit_embeddings (patch_embed.h): the same
// im2col + GEMM as the CPU path on the device (cuda::patchify_f32 + cuda::linear_f32, or
// cuda::patchify_bf16 + the cuBLASLt bf16 GEMM), and cuda::vit_embeddings.
#include "kernels/cuda/linear.h"
#include "kernels/cuda/patch_embed.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/backend/cuda_context.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops::cuda_backend {

Tensor patch_embed(const Tensor& pixels, const Tensor& weight) {
  const int64_t T = pixels.dim(0), C = pixels.dim(1), S = pixels.dim(2), k = weight.dim(2), D = weight.dim(0);
  const int64_t g = S / k, K = C * k * k;
  const detail::CtxPtr ctx = detail::cuda_ctx({&pixels, &weight}, "patch_embed");
  if (pixels.dtype() == DType::bf16) {
    // K = C*k*k (588 for 3x14x14) padded to a multiple of 8 so every GEMM row is 16-byte
    // aligned; the zero columns of cols and weight add nothing.
    const int64_t Kp = (K + 7) / 8 * 8;
    Tensor out = detail::dev_empty({T, g * g, D}, DType::bf16, ctx);
    if (out.numel() == 0) return out;
    Tensor cols = detail::dev_empty({T * g * g, Kp}, DType::bf16, ctx);
    cuda::patchify_bf16(*ctx, detail::dev_contiguous(pixels, ctx), k, cols);
    const Tensor w =
        (weight.dtype() == DType::bf16 ? detail::dev_contiguous(weight, ctx) : ops::cast(weight, DType::bf16))
            .view({D, K});
    Tensor wp = w;
    if (Kp != K) {
      wp = detail::dev_empty({D, Kp}, DType::bf16, ctx);
      cuda::pad_cols_bf16(*ctx, w, wp);
    }
    cuda::gemm(*ctx, cols, wp, out.view({T * g * g, D}));
    return out;
  }
  Tensor cols = detail::dev_empty({T * g * g, K}, DType::f32, ctx);
  cuda::patchify_f32(*ctx, detail::dev_contiguous(pixels, ctx), k, cols);
  Tensor out = detail::dev_empty({T, g * g, D}, DType::f32, ctx);
  cuda::linear_f32(*ctx, cols, detail::dev_contiguous(weight, ctx).view({D, K}), out.view({T * g * g, D}));
  return out;
}

Tensor vit_embeddings(const Tensor& patches, const Tensor& class_emb, const Tensor& pos_emb) {
  const int64_t T = patches.dim(0), P = patches.dim(1), D = patches.dim(2);
  const detail::CtxPtr ctx = detail::cuda_ctx({&patches, &class_emb, &pos_emb}, "vit_embeddings");
  Tensor out = detail::dev_empty({T, P + 1, D}, patches.dtype(), ctx);
  cuda::vit_embeddings(*ctx, detail::dev_contiguous(patches, ctx), detail::dev_contiguous(class_emb, ctx),
                       detail::dev_contiguous(pos_emb, ctx), out);
  return out;
}

}  // namespace mvl::ops::cuda_backend
