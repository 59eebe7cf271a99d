// Counter-based random fills of existing tensors (weights for random-weight benchmarks and
// tests): the value of element i (row-major index) is a pure function of (seed, i), so the
// CPU and CUDA backends give bit-identical tensors and a fill needs no host buffer.
// Host tensors run cpu::fill_uniform_*, device tensors the kernel in kernels/cuda/random.cu.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"

namespace mvl::ops {

// t: contiguous, writable f32|bf16 (host or CUDA), in place: t[i] = uniform in [lo, hi)
// from cpu::uniform_at(seed, i, lo, hi) (bf16: rounded to nearest even). lo <= hi, finite.
void fill_uniform_(const Tensor& t, uint64_t seed, float lo, float hi);

}  // namespace mvl::ops
