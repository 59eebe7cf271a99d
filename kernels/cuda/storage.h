// Device memory behind tensors (CudaStorage) and host<->device copies. Device tensors are
// ordinary mvl::Tensor objects whose Storage reports Device::cuda(i); their data() pointers
// are device pointers (never dereference on host). Allocation is stream-ordered from the
// context's pool (cudaMallocFromPoolAsync / cudaFreeAsync on ctx.stream()): no host sync,
// capturable into a CUDA graph. The rules are in docs/memory_plan.md.
#pragma once

#include <initializer_list>
#include <memory>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

class CudaStorage final : public Storage {
 public:
  // `bytes` from ctx's pool, stream-ordered on ctx.stream(); NOT zeroed (kernels write every
  // element). The storage holds ctx's StreamPool, so it may outlive ctx. Freed with
  // cudaFreeAsync on that stream: work enqueued on ctx.stream() before the free may still
  // use it; work on OTHER streams must be ordered before the last reference is dropped.
  // Throws Error{out_of_memory} naming the byte count.
  CudaStorage(size_t bytes, const Context& ctx);
  // Legacy synchronous cudaMalloc/cudaFree on `device` (cudaFree waits for the whole
  // device and cannot run inside a graph capture). Prefer the Context form.
  CudaStorage(size_t bytes, int device);
  ~CudaStorage() override;
  CudaStorage(const CudaStorage&) = delete;
  CudaStorage& operator=(const CudaStorage&) = delete;
  void* data() override { return ptr_; }
  size_t size() const override { return size_; }
  Device device() const override { return Device::cuda(device_); }

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
  int device_ = 0;
  std::shared_ptr<StreamPool> pool_;  // null for the legacy form
  uint64_t epoch_ = 0;                // the graph capture it was allocated in (0: none)
};

// A new contiguous device tensor (uninitialised).
Tensor empty(const Shape& shape, DType dtype, const Context& ctx);
// Same, zero-filled (cudaMemsetAsync on ctx's stream).
Tensor zeros(const Shape& shape, DType dtype, const Context& ctx);
// Host -> device copy (any strides on the host; result contiguous). Asynchronous on
// ctx's stream, but the host buffer may be freed right after the call (pageable copy).
Tensor to_device(const Tensor& host, const Context& ctx);
// Host -> device, converting f32 -> bf16 on the host first (weights are uploaded once as bf16).
Tensor to_device_bf16(const Tensor& host, const Context& ctx);
// Device -> host copy (contiguous source). Synchronises ctx's stream.
Tensor to_host(const Tensor& dev, const Context& ctx);
// Device -> host, converting bf16/f32 to f32. Synchronises.
Tensor to_host_f32(const Tensor& dev, const Context& ctx);
// Carves contiguous tensors out of ctx.scratch(): construct with the byte sizes of every
// slot (in take() order), then take() them in that order. The tensors are views of the
// arena (non-owning) and are only valid until the next op uses the scratch.
class Scratch {
 public:
  Scratch(const Context& ctx, std::initializer_list<int64_t> slot_bytes);
  Tensor take(const Shape& shape, DType dtype);

 private:
  std::shared_ptr<Storage> arena_;
  size_t offset_ = 0;
};

// Copies src into dst (same shape/dtype, both contiguous device tensors) on ctx's stream.
void copy(const Tensor& src, const Tensor& dst, const Context& ctx);

// A new zero-filled contiguous device tensor whose storage keeps `ctx` alive, so ops on it
// (and on views of it) find their stream through context_of().
Tensor empty_with(const Shape& shape, DType dtype, const std::shared_ptr<const Context>& ctx);
// Same without the zero fill, for outputs a kernel overwrites entirely (saves a memset
// launch per op on the bf16 decode path).
Tensor empty_uninit_with(const Shape& shape, DType dtype,
                         const std::shared_ptr<const Context>& ctx);
// The context a device tensor was allocated with (nullptr for host tensors or tensors
// allocated through the plain cuda::empty).
std::shared_ptr<const Context> context_of(const Tensor& t);

}  // namespace mvl::cuda
