// CudaStorage (stream-ordered allocations from the context's pool), host<->device copies, and
// the context-carrying allocations the ops:: CUDA branches make (empty_with, context_of).
#include "kernels/cuda/storage.h"

#include <vector>

#include "kernels/cuda/check.cuh"

namespace mvl::cuda {

CudaStorage::CudaStorage(size_t bytes, const Context& ctx)
    : size_(bytes), device_(ctx.device()), pool_(ctx.stream_pool()) {
  if (bytes == 0) return;
  ptr_ = pool_->allocate(bytes, &epoch_);
}

CudaStorage::CudaStorage(size_t bytes, int device) : size_(bytes), device_(device) {
  if (bytes == 0) return;
  const cudaError_t e = cudaMalloc(&ptr_, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    cudaGetLastError();
    throw_error(
        ErrorCategory::out_of_memory,
        fmt::format("cannot allocate {} bytes ({:.1f} MiB) on cuda:{} ({:.1f} MiB free of {:.1f}): "
                    "{}; use fewer layers, a shorter context or a larger GPU",
                    bytes, bytes / 1048576.0, device, free_b / 1048576.0, total_b / 1048576.0,
                    cudaGetErrorString(e)));
  }
}

CudaStorage::~CudaStorage() {
  if (!ptr_) return;
  if (pool_)
    pool_->release(ptr_, size_, epoch_);
  else if (cudaFree(ptr_) != cudaSuccess)
    cudaGetLastError();
}

Tensor empty(const Shape& shape, DType dtype, const Context& ctx) {
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  auto st = std::make_shared<CudaStorage>(bytes, ctx);
  return Tensor(st, 0, shape, contiguous_strides(shape), dtype);
}

Tensor zeros(const Shape& shape, DType dtype, const Context& ctx) {
  Tensor t = empty(shape, dtype, ctx);
  if (t.nbytes()) MVL_CUDA_CHECK(cudaMemsetAsync(t.data(), 0, t.nbytes(), ctx.stream()));
  return t;
}

Tensor to_device(const Tensor& host, const Context& ctx) {
  MVL_CHECK(host.device().is_cpu(), invalid_argument, "to_device: {} is already on a device",
            host.str());
  Tensor src = contiguous(host);
  Tensor t = empty(host.shape(), host.dtype(), ctx);
  if (t.nbytes())
    MVL_CUDA_CHECK(
        cudaMemcpyAsync(t.data(), src.data(), t.nbytes(), cudaMemcpyHostToDevice, ctx.stream()));
  // Pageable source: cudaMemcpyAsync has staged it before returning, so `src` may die.
  return t;
}

Tensor to_device_bf16(const Tensor& host, const Context& ctx) {
  if (host.dtype() == DType::bf16) return to_device(host, ctx);
  Tensor src = contiguous(host);
  Tensor h = Tensor::empty(host.shape(), DType::bf16);
  uint16_t* dst = h.data<uint16_t>();
  for (int64_t i = 0; i < src.numel(); ++i)
    dst[i] = f32_to_bf16(load_as_f32(src.data(), src.dtype(), i));
  return to_device(h, ctx);
}

Tensor to_host(const Tensor& dev, const Context& ctx) {
  MVL_CHECK(dev.device().is_cuda(), invalid_argument, "to_host: {} is not a device tensor",
            dev.str());
  MVL_CHECK(dev.is_contiguous(), unsupported, "to_host: {} must be contiguous", dev.str());
  Tensor h = Tensor::empty(dev.shape(), dev.dtype());
  if (h.nbytes())
    MVL_CUDA_CHECK(
        cudaMemcpyAsync(h.data(), dev.data(), h.nbytes(), cudaMemcpyDeviceToHost, ctx.stream()));
  ctx.synchronize();
  return h;
}

Tensor to_host_f32(const Tensor& dev, const Context& ctx) {
  Tensor h = to_host(dev, ctx);
  if (h.dtype() == DType::f32) return h;
  Tensor f = Tensor::empty(h.shape(), DType::f32);
  for (int64_t i = 0; i < h.numel(); ++i) f.data<float>()[i] = load_as_f32(h.data(), h.dtype(), i);
  return f;
}

namespace {
// A non-owning view of the context's scratch arena.
class ArenaStorage final : public Storage {
 public:
  ArenaStorage(void* p, size_t n, int dev) : p_(p), n_(n), dev_(dev) {}
  void* data() override { return p_; }
  size_t size() const override { return n_; }
  Device device() const override { return Device::cuda(dev_); }

 private:
  void* p_;
  size_t n_;
  int dev_;
};
constexpr size_t kAlign = 256;
size_t align_up(size_t x) {
  return (x + kAlign - 1) / kAlign * kAlign;
}
}  // namespace

Scratch::Scratch(const Context& ctx, std::initializer_list<int64_t> slot_bytes) {
  size_t total = 0;
  for (int64_t b : slot_bytes) total += align_up(static_cast<size_t>(b));
  void* p = ctx.scratch(total > 0 ? total : kAlign);
  arena_ = std::make_shared<ArenaStorage>(p, total, ctx.device());
}

Tensor Scratch::take(const Shape& shape, DType dtype) {
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  MVL_ASSERT(offset_ + bytes <= arena_->size());
  Tensor t(arena_, offset_, shape, contiguous_strides(shape), dtype);
  offset_ += align_up(bytes);
  return t;
}

void copy(const Tensor& src, const Tensor& dst, const Context& ctx) {
  MVL_CHECK(src.shape() == dst.shape() && src.dtype() == dst.dtype(), shape_mismatch,
            "cuda::copy: {} vs {}", src.str(), dst.str());
  MVL_CHECK(src.is_contiguous() && dst.is_contiguous(), unsupported,
            "cuda::copy needs contiguous tensors");
  if (src.nbytes())
    MVL_CUDA_CHECK(
        cudaMemcpyAsync(dst.data(), src.data(), src.nbytes(), cudaMemcpyDefault, ctx.stream()));
}

namespace {

// Device memory that also keeps the owning Context alive; ops find it via context_of().
class ContextStorage final : public Storage {
 public:
  ContextStorage(size_t bytes, std::shared_ptr<const Context> ctx)
      : mem_(bytes, *ctx), ctx_(std::move(ctx)) {}
  void* data() override { return mem_.data(); }
  size_t size() const override { return mem_.size(); }
  Device device() const override { return mem_.device(); }
  const std::shared_ptr<const Context>& context() const { return ctx_; }

 private:
  CudaStorage mem_;
  std::shared_ptr<const Context> ctx_;
};

}  // namespace

Tensor empty_with(const Shape& shape, DType dtype, const std::shared_ptr<const Context>& ctx) {
  MVL_CHECK(ctx != nullptr, internal, "empty_with: no CUDA context");
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  auto st = std::make_shared<ContextStorage>(bytes, ctx);
  Tensor t(st, 0, shape, contiguous_strides(shape), dtype);
  if (bytes) MVL_CUDA_CHECK(cudaMemsetAsync(t.data(), 0, bytes, ctx->stream()));
  return t;
}

Tensor empty_uninit_with(const Shape& shape, DType dtype,
                         const std::shared_ptr<const Context>& ctx) {
  MVL_CHECK(ctx != nullptr, internal, "empty_uninit_with: no CUDA context");
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  return Tensor(std::make_shared<ContextStorage>(bytes, ctx), 0, shape, contiguous_strides(shape),
                dtype);
}

std::shared_ptr<const Context> context_of(const Tensor& t) {
  if (!t.defined()) return nullptr;
  const auto* s = dynamic_cast<const ContextStorage*>(t.storage().get());
  return s ? s->context() : nullptr;
}

}  // namespace mvl::cuda
