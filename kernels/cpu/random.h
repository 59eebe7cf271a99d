// Counter-based uniform random numbers (CPU twin of kernels/cuda/random.cu): element i of a
// fill with seed s is a pure function of (s, i), a splitmix64-style hash, so any slice of a
// tensor can be generated anywhere (host or device) and the CUDA kernel gives bit-identical
// values. Not cryptographic; for random-weight benchmarks and tests.
#pragma once

#include <cmath>
#include <cstdint>

namespace mvl::cpu {

// splitmix64's finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mix.
inline uint64_t splitmix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A well-mixed sub-seed for stream k of a seed (e.g. one per weight tensor).
inline uint64_t derive_seed(uint64_t seed, uint64_t k) {
  return splitmix64(seed ^ splitmix64(k));
}

// Value of element i: u = top 24 bits of hash(seed, i) / 2^24 in [0, 1) (exact in f32), then
// fma(hi - lo, u, lo) (one rounding; the kernel uses the same fused op). Lies in [lo, hi]
// (hi itself only by rounding).
inline float uniform_at(uint64_t seed, uint64_t i, float lo, float hi) {
  const uint64_t h = splitmix64(seed ^ splitmix64(i));
  const float u = static_cast<float>(h >> 40) * (1.0f / 16777216.0f);
  return std::fma(hi - lo, u, lo);
}

// out[i] = uniform_at(seed, first + i, lo, hi) for i < n (f32 or bf16, round to nearest even).
void fill_uniform_f32(float* out, int64_t n, uint64_t seed, uint64_t first, float lo, float hi);
void fill_uniform_bf16(uint16_t* out, int64_t n, uint64_t seed, uint64_t first, float lo, float hi);

}  // namespace mvl::cpu
