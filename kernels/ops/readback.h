// Readback: small i32 results (the sampled id and its non-finite flag from sample_checked)
// brought to the host without stalling the device queue. start() enqueues the copy (pinned
// memory, asynchronous on CUDA), so the caller can queue the next decode step before wait()
// blocks for the bytes; on the CPU the values are simply copied. One object per decode loop.
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/core/tensor.h"

namespace mvl::ops {

class Readback {
 public:
  static constexpr int64_t kMaxValues = 16;
  Readback();
  ~Readback();
  Readback(Readback&&) noexcept;
  Readback& operator=(Readback&&) noexcept;
  // src: contiguous i32 [n], n <= kMaxValues, on any device.
  void start(const Tensor& src);
  // The values of the last start(), once they are on the host (blocks on CUDA until then).
  const int32_t* wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mvl::ops
