// Readback: a few bytes of device results (a sampled token id and its non-finite flag) copied
// into pinned host memory once the context's stream has produced them, on a side stream so the
// copy never delays the work queued after it, with an event to wait on. The decode loop starts
// the copy, queues the next step, then waits: the host reads the id while the GPU already runs
// ahead. Plain C++ header (CUDA types stay in readback.cpp).
#pragma once

#include <cstddef>

#include "kernels/cuda/context.h"

namespace mvl::cuda {

class Readback {
 public:
  static constexpr size_t kMaxBytes = 64;
  Readback();  // the pinned buffer (the timing-free event comes with the first start); throws
               // Error{device}
  ~Readback();
  Readback(const Readback&) = delete;
  Readback& operator=(const Readback&) = delete;
  // Copies `bytes` (<= kMaxBytes) from device pointer `src` as soon as the work queued on
  // ctx.stream() so far has run (the copy itself runs on the side stream). Never blocks the
  // host; `src` must stay allocated until wait() returns.
  void start(const Context& ctx, const void* src, size_t bytes);
  // Blocks until the last started copy has landed; returns the pinned buffer.
  const void* wait();

 private:
  void* host_ = nullptr;
  void* stream_ = nullptr;  // cudaStream_t, non-blocking, ours
  void* ready_ = nullptr;   // cudaEvent_t on ctx.stream(): the source is written
  void* landed_ = nullptr;  // cudaEvent_t on stream_: the bytes are on the host
  int device_ = -1;
  bool started_ = false;
};

}  // namespace mvl::cuda
