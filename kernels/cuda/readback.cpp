// Readback (readback.h): cudaHostAlloc'd (portable) bytes filled by cudaMemcpyAsync on a side
// stream of our own that waits (cudaStreamWaitEvent) for the context's stream to reach the
// copy point. The copy is thus off the compute stream: the next decode step queued behind it
// starts as soon as the sampler is done, not after a device-to-host round trip.
#include "kernels/cuda/readback.h"

#include <cuda_runtime.h>

#include "kernels/cuda/check.cuh"

namespace mvl::cuda {

Readback::Readback() {
  MVL_CUDA_CHECK(cudaHostAlloc(&host_, kMaxBytes, cudaHostAllocPortable));
}

Readback::~Readback() {
  // Drain a copy still in flight (a throw between start and wait) before its source may be
  // freed by the caller and before the pinned buffer goes.
  if (stream_) cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
  if (ready_) cudaEventDestroy(static_cast<cudaEvent_t>(ready_));
  if (landed_) cudaEventDestroy(static_cast<cudaEvent_t>(landed_));
  if (stream_) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
  if (host_) cudaFreeHost(host_);
}

void Readback::start(const Context& ctx, const void* src, size_t bytes) {
  MVL_CHECK(bytes <= kMaxBytes, invalid_argument, "cuda::Readback: {} bytes (at most {})", bytes,
            kMaxBytes);
  MVL_CHECK(device_ < 0 || device_ == ctx.device(), invalid_argument,
            "cuda::Readback: made for device {}, used on device {}", device_, ctx.device());
  if (!stream_) {  // made on first use, on the context's device (then the thread's device back)
    int prev = -1;
    MVL_CUDA_CHECK(cudaGetDevice(&prev));
    if (prev != ctx.device()) MVL_CUDA_CHECK(cudaSetDevice(ctx.device()));
    cudaStream_t s = nullptr;
    MVL_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    stream_ = s;
    cudaEvent_t e = nullptr;
    MVL_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    ready_ = e;
    MVL_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    landed_ = e;
    device_ = ctx.device();
    if (prev != ctx.device()) MVL_CUDA_CHECK(cudaSetDevice(prev));
  }
  const auto side = static_cast<cudaStream_t>(stream_);
  MVL_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(ready_), ctx.stream()));
  MVL_CUDA_CHECK(cudaStreamWaitEvent(side, static_cast<cudaEvent_t>(ready_), 0));
  MVL_CUDA_CHECK(cudaMemcpyAsync(host_, src, bytes, cudaMemcpyDeviceToHost, side));
  MVL_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(landed_), side));
  started_ = true;
}

const void* Readback::wait() {
  if (started_) MVL_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(landed_)));
  started_ = false;
  return host_;
}

}  // namespace mvl::cuda
