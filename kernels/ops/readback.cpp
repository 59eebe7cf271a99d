// ops::Readback (readback.h): host copies on the CPU, cuda::Readback (pinned + event) on CUDA.
#include "kernels/ops/readback.h"

#include <algorithm>

#include "kernels/core/error.h"
#include "kernels/ops/cuda_dispatch.h"
#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/readback.h"
#include "kernels/ops/backend/cuda_context.h"
#endif

namespace mvl::ops {

struct Readback::Impl {
  int32_t host[kMaxValues] = {};
  bool on_device = false;
  Tensor source;  // kept alive until wait(): the copy reads it on another stream
#ifdef MVL_HAVE_CUDA
  std::unique_ptr<cuda::Readback> dev;  // declared after `source`, so destroyed (drained) first
#endif
};

Readback::Readback() : impl_(std::make_unique<Impl>()) {}
Readback::~Readback() = default;
Readback::Readback(Readback&&) noexcept = default;
Readback& Readback::operator=(Readback&&) noexcept = default;

void Readback::start(const Tensor& src) {
  MVL_CHECK(src.defined() && src.dtype() == DType::i32 && src.ndim() == 1 && src.is_contiguous() &&
                src.numel() <= kMaxValues,
            shape_mismatch, "Readback: expected a contiguous i32 [n <= {}], got {}", kMaxValues,
            src.defined() ? src.str() : std::string("undefined"));
  const size_t bytes = static_cast<size_t>(src.numel()) * sizeof(int32_t);
#ifdef MVL_HAVE_CUDA
  if (detail::any_cuda({&src})) {
    const detail::CtxPtr ctx = detail::cuda_ctx({&src}, "Readback");
    if (!impl_->dev) impl_->dev = std::make_unique<cuda::Readback>();
    impl_->dev->start(*ctx, src.data(), bytes);
    impl_->source = src;
    impl_->on_device = true;
    return;
  }
#endif
  const int32_t* p = src.data<int32_t>();
  std::copy(p, p + src.numel(), impl_->host);
  impl_->on_device = false;
}

const int32_t* Readback::wait() {
#ifdef MVL_HAVE_CUDA
  if (impl_->on_device) {
    const auto* p = static_cast<const int32_t*>(impl_->dev->wait());
    impl_->source = Tensor();  // freed on its own stream, after the copy it fed
    return p;
  }
#endif
  return impl_->host;
}

}  // namespace mvl::ops
