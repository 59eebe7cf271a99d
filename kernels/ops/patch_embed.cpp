// ops::patch_embed: validation, then im2col + GEMM: cpu::patchify + the plain CPU GEMM, or
// cuda::patchify_f32 + cuda::linear_f32 for device tensors.
#include "kernels/ops/patch_embed.h"

#include "kernels/core/error.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/patch_embed.h"
#include "kernels/ops/cuda_dispatch.h"
#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/vision_ops.h"
#endif

namespace mvl::ops {

Tensor patch_embed(const Tensor& pixels, const Tensor& weight) {
  MVL_CHECK(pixels.ndim() == 4 && pixels.dim(2) == pixels.dim(3), shape_mismatch,
            "patch_embed: pixels must be [tiles, channels, S, S], got {}", pixels.str());
  MVL_CHECK(weight.ndim() == 4 && weight.dim(2) == weight.dim(3) && weight.dim(1) == pixels.dim(1), shape_mismatch,
            "patch_embed: weight {} does not match pixels {} ([D, C, k, k] expected)", weight.str(), pixels.str());
  const int64_t T = pixels.dim(0), C = pixels.dim(1), S = pixels.dim(2), k = weight.dim(2), D = weight.dim(0);
  MVL_CHECK(k > 0 && S % k == 0, shape_mismatch, "patch_embed: tile size {} is not a multiple of patch size {}", S, k);
  MVL_CHECK(pixels.dtype() == DType::f32, unsupported, "patch_embed: pixels must be f32, got {}", pixels.str());
  MVL_CHECK(weight.dtype() == DType::f32 || weight.dtype() == DType::bf16, unsupported,
            "patch_embed: weight must be f32 or bf16, got {}", weight.str());
  const int64_t g = S / k, K = C * k * k;
#ifdef MVL_HAVE_CUDA
  if (detail::any_cuda({&pixels, &weight})) {
    // The same im2col + GEMM as the CPU path, both on the device.
    const detail::CtxPtr ctx = detail::cuda_ctx({&pixels, &weight}, "patch_embed");
    Tensor cols = detail::dev_empty({T * g * g, K}, DType::f32, ctx);
    cuda::patchify_f32(*ctx, detail::dev_contiguous(pixels, ctx), k, cols);
    Tensor out = detail::dev_empty({T, g * g, D}, DType::f32, ctx);
    cuda::linear_f32(*ctx, cols, detail::dev_contiguous(weight, ctx).view({D, K}), out.view({T * g * g, D}));
    return out;
  }
#endif
  MVL_CHECK(pixels.device().is_cpu() && weight.device().is_cpu(), unsupported,
            "patch_embed: device tensors go through the CUDA backend (got {})", pixels.str());
  Tensor px = contiguous(pixels), w = contiguous(weight);
  Tensor cols = Tensor::empty({T * g * g, K}, DType::f32);
  cpu::patchify(px.data<float>(), T, C, S, k, cols.data<float>());
  Tensor out = Tensor::empty({T, g * g, D}, DType::f32);
  cpu::linear(cols.data<float>(), w.data(), w.dtype(), nullptr, DType::f32, out.data<float>(), T * g * g, K, D);
  return out;
}

}  // namespace mvl::ops
