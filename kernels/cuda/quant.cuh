// Device helpers of the weight-only quantized kernels (quant.cu, quant_moe.cu): format tags,
// 16-byte code chunks -> f32 weights, the CPU reference's per-element dequant, and the dot of a
// chunk with bf16/f32 activations. Header-only; include only from .cu files.
#pragma once

#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include "kernels/core/quant_format.h"
#include "kernels/cuda/common.cuh"

namespace mvl::cuda::qdev {

using dev::bf16;

constexpr int kI8 = 1, kF8 = 2, kI4 = 3;  // template tags (WeightFormat values)
static_assert(int(WeightFormat::int8) == kI8 && int(WeightFormat::fp8_e4m3) == kF8 &&
              int(WeightFormat::int4) == kI4);

__device__ __forceinline__ float fp8_to_f(uint8_t v) {
  const __half_raw h = __nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(v), __NV_E4M3);
  return __half2float(__half(h));
}
__device__ __forceinline__ float2 fp8x2_to_f2(uint32_t v16) {
  const __half2_raw h =
      __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(v16 & 0xFFFFu), __NV_E4M3);
  return __half22float2(__half2(h));
}

// Weights per 16-byte chunk of codes.
template <int F>
__host__ __device__ constexpr int chunk_elems() {
  return F == kI4 ? 32 : 16;
}

__device__ __forceinline__ uint32_t word_of(const int4& v, int k) {
  return static_cast<uint32_t>(k == 0 ? v.x : k == 1 ? v.y : k == 2 ? v.z : v.w);
}

// Weights 8 * sc .. 8 * sc + 7 of a 16-byte chunk of codes, as exact f32 (int4: q - z; scales
// applied by the caller). No I2F and no per-element shift:
//  - int8: (2^23 + 128 + q) built by one PRMT from the 0x80-flipped word, minus 2^23 + 128;
//  - fp8 e4m3: the paired cvt (e4m3x2 -> f16x2, one instruction on sm_89+), then f16 -> f32;
//  - int4: nibble m of a 16-bit half-word masked in place with 0x4B000000 (one LOP3) is
//    2^23 + q * 16^m; one FFMA by 16^-m with -(2^(23-4m) + z) gives q - z exactly (integer z in
//    [0, 15], as the quantizer writes them); one shift per 4 nibbles.
template <int F>
__device__ __forceinline__ void dequant8(const int4& c, int sc, float z, float (&w)[8]) {
  if constexpr (F == kI8) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const uint32_t b = word_of(c, 2 * sc + h) ^ 0x80808080u;  // q + 128, unsigned
#pragma unroll
      for (int k = 0; k < 4; ++k)
        w[4 * h + k] =
            __int_as_float(static_cast<int>(__byte_perm(b, 0x4B000000u, 0x7540u + k))) - 8388736.0f;
    }
  } else if constexpr (F == kF8) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const uint32_t u = word_of(c, 2 * sc + h);
      const float2 a = fp8x2_to_f2(u), b = fp8x2_to_f2(u >> 16);
      w[4 * h] = a.x;
      w[4 * h + 1] = a.y;
      w[4 * h + 2] = b.x;
      w[4 * h + 3] = b.y;
    }
  } else {
    const uint32_t u = word_of(c, sc);
    const float c0 = -(8388608.0f + z), c1 = -(524288.0f + z), c2 = -(32768.0f + z),
                c3 = -(2048.0f + z);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const uint32_t v = h == 0 ? u : u >> 16;
      w[4 * h] = __int_as_float(static_cast<int>(0x4B000000u | (v & 0xFu))) + c0;
      w[4 * h + 1] = fmaf(__int_as_float(static_cast<int>(0x4B000000u | (v & 0xF0u))), 0.0625f, c1);
      w[4 * h + 2] =
          fmaf(__int_as_float(static_cast<int>(0x4B000000u | (v & 0xF00u))), 0.00390625f, c2);
      w[4 * h + 3] =
          fmaf(__int_as_float(static_cast<int>(0x4B000000u | (v & 0xF000u))), 0.000244140625f, c3);
    }
  }
}

// One chunk of codes -> its weights (int4: q - z; scales applied by the caller).
template <int F>
__device__ __forceinline__ void dequant_chunk(const int4& c, float z,
                                              float (&w)[chunk_elems<F>()]) {
#pragma unroll
  for (int sc = 0; sc < chunk_elems<F>() / 8; ++sc)
    dequant8<F>(c, sc, z, reinterpret_cast<float(&)[8]>(w[8 * sc]));
}

// The CPU reference's dequantized weight (r, k), bit for bit.
template <int F>
__device__ __forceinline__ float deq_one(const uint8_t* codes, const float* scales,
                                         const float* zeros, int64_t r, int64_t k, int64_t cb,
                                         int64_t sr) {
  if constexpr (F == kI8) {
    return scales[r] * static_cast<float>(static_cast<int8_t>(codes[r * cb + k]));
  } else if constexpr (F == kF8) {
    return scales[r] * fp8_to_f(codes[r * cb + k]);
  } else {
    const int64_t g = r * sr + k / kInt4GroupSize;
    const int v = (codes[r * cb + k / 2] >> ((k & 1) * 4)) & 0xF;
    return scales[g] * (static_cast<float>(v) - zeros[g]);
  }
}

__device__ __forceinline__ int4 ld_stream(const int4* p) {
  int4 v;
  asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.s32 {%0,%1,%2,%3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

template <typename T>
__device__ __forceinline__ void store(T* p, float v) {
  if constexpr (sizeof(T) == 2)
    *p = dev::to_bf(v);
  else
    *p = v;
}

// Partial dot of weights w[E] with E activations at xr (16-byte aligned).
template <int E, typename XT>
__device__ __forceinline__ float dot_chunk(const float (&w)[E], const XT* xr) {
  float p = 0.f;
  if constexpr (sizeof(XT) == 2) {
#pragma unroll
    for (int i = 0; i < E / 8; ++i) {
      float f[8];
      dev::unpack8(__ldg(reinterpret_cast<const int4*>(xr) + i), f);
#pragma unroll
      for (int j = 0; j < 8; ++j) p = fmaf(w[8 * i + j], f[j], p);
    }
  } else {
#pragma unroll
    for (int i = 0; i < E / 4; ++i) {
      const float4 f = __ldg(reinterpret_cast<const float4*>(xr) + i);
      p = fmaf(w[4 * i], f.x, p);
      p = fmaf(w[4 * i + 1], f.y, p);
      p = fmaf(w[4 * i + 2], f.z, p);
      p = fmaf(w[4 * i + 3], f.w, p);
    }
  }
  return p;
}

}  // namespace mvl::cuda::qdev
