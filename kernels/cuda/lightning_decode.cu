// Row-streaming lightning decode kernels (design: lightning_decode.h). Why another kernel: the
// step is a pure stream of the f32 state (read 64 KB, write 64 KB per (sequence, head)); the
// lightning.cu kernel holds 64 bytes per thread in flight, then stalls its CTA on a 32-way
// shared-memory reduction done by one warp before the CTA can retire. Here a warp owns whole
// 512-byte rows (lane l: columns 4l..4l+3 as one float4), keeps U rows' loads in flight, and
// sums q_r * S_new[r, 4l..4l+3] in registers, so the only cross-warp step is W float4 per lane
// at the end. The state update is the same expression as lightning.cu's (fmaf(lam, s, k_r v_c)),
// so the state bits match it exactly.
// CPU reference: kernels/cpu lightning_recurrent; test: tests/gpu/lightning_decode_test.cpp;
// sweep: ops_cuda_bench --only lightning_decode (tools/device/moeb_check.sh).
#include "kernels/cuda/lightning_decode.h"

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/lightning.h"
#include "kernels/cuda/lightning_views.cuh"

namespace mvl::cuda {

using namespace dev;

namespace {

constexpr int kDK = 128;

struct RowParams {
  const bf16* q;
  const bf16* k;
  const bf16* v;
  bf16* o;
  const float* slopes;
  float* state;              // [B, H, 128, 128], or
  const int64_t* state_ptrs;  // [B] addresses of [H, 128, 128] states (gather form) when set
  int64_t q_b, q_h, k_b, k_h, v_b, v_h, o_b, o_h;
  int H;
};

template <bool CS>
__device__ __forceinline__ float4 ld_state(const float4* p) {
  if constexpr (CS)
    return __ldcs(p);
  else
    return *p;
}
template <bool CS>
__device__ __forceinline__ void st_state(float4* p, float4 v) {
  if constexpr (CS)
    __stcs(p, v);
  else
    *p = v;
}

// Grid B * H; W warps. CS: streaming (evict-first) loads and stores of the state. PIPE: the
// first U rows are loaded before the q/k staging barrier and every next U rows before the math
// of the current ones (2U float4 per lane in flight), so a warp is never without loads.
template <int W, int U, bool CS, bool PIPE>
__global__ void __launch_bounds__(W * 32) lightning_decode_rows_kernel(const RowParams p) {
  constexpr int R = kDK / W;  // rows per warp
  static_assert(R % U == 0, "U must divide the rows of a warp");
  __shared__ float qs[kDK], ks[kDK];
  __shared__ float4 part[W][32];
  const int bh = blockIdx.x, b = bh / p.H, h = bh % p.H;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  float* const st = p.state_ptrs ? reinterpret_cast<float*>(p.state_ptrs[b]) + int64_t(h) * kDK * kDK
                                 : p.state + int64_t(bh) * kDK * kDK;
  float4* S = reinterpret_cast<float4*>(st) + lane + warp * R * 32;  // this warp's row i: S + 32 i
  float4 cur[U];
  if constexpr (PIPE) {
#pragma unroll
    for (int u = 0; u < U; ++u) cur[u] = ld_state<CS>(S + u * 32);
  }
  for (int i = tid; i < kDK; i += W * 32) {
    qs[i] = to_f(p.q[b * p.q_b + h * p.q_h + i]);
    ks[i] = to_f(p.k[b * p.k_b + h * p.k_h + i]);
  }
  const uint2 vr = *reinterpret_cast<const uint2*>(p.v + b * p.v_b + h * p.v_h + 4 * lane);
  const float2 v01 = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&vr.x));
  const float2 v23 = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&vr.y));
  const float lam = expf(-p.slopes[h]);
  __syncthreads();
  float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
  for (int i0 = 0; i0 < R; i0 += U) {
    float4 nxt[U];
    if constexpr (PIPE) {
      if (i0 + U < R) {
#pragma unroll
        for (int u = 0; u < U; ++u) nxt[u] = ld_state<CS>(S + (i0 + U + u) * 32);
      }
    } else {
#pragma unroll
      for (int u = 0; u < U; ++u) cur[u] = ld_state<CS>(S + (i0 + u) * 32);
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int r = warp * R + i0 + u;
      const float kr = ks[r], qr = qs[r];
      float4 x = cur[u];
      x.x = fmaf(lam, x.x, kr * v01.x);
      x.y = fmaf(lam, x.y, kr * v01.y);
      x.z = fmaf(lam, x.z, kr * v23.x);
      x.w = fmaf(lam, x.w, kr * v23.y);
      st_state<CS>(S + (i0 + u) * 32, x);
      acc.x += qr * x.x;
      acc.y += qr * x.y;
      acc.z += qr * x.z;
      acc.w += qr * x.w;
    }
    if constexpr (PIPE) {
      if (i0 + U < R) {
#pragma unroll
        for (int u = 0; u < U; ++u) cur[u] = nxt[u];
      }
    }
  }
  part[warp][lane] = acc;
  __syncthreads();
  if (warp == 0) {
    float4 o = part[0][lane];
#pragma unroll
    for (int w = 1; w < W; ++w) {
      const float4 t = part[w][lane];
      o.x += t.x;
      o.y += t.y;
      o.z += t.z;
      o.w += t.w;
    }
    uint2 ov;
    ov.x = pack_bf16(o.x, o.y);
    ov.y = pack_bf16(o.z, o.w);
    *reinterpret_cast<uint2*>(p.o + b * p.o_b + h * p.o_h + 4 * lane) = ov;
  }
}

// The variants 1..kLightningDecodeKernels-1 (W, U, CS, PIPE).
#define MVL_LIGHTNING_DECODE_VARIANTS(X) \
  X(1, 4, 8, false, false)               \
  X(2, 4, 8, true, false)                \
  X(3, 8, 8, true, false)                \
  X(4, 8, 16, true, false)               \
  X(5, 4, 16, true, false)               \
  X(6, 2, 16, true, false)               \
  X(7, 4, 8, true, true)                 \
  X(8, 8, 8, true, true)                 \
  X(9, 4, 4, true, true)

#define MVL_X(...) +1
static_assert(1 MVL_LIGHTNING_DECODE_VARIANTS(MVL_X) == kLightningDecodeKernels,
              "lightning_decode.h counts kernel 0 and every row variant");
#undef MVL_X

}  // namespace

std::string lightning_decode_kernel_name(int kernel) {
  if (kernel == 0) return "cta per 32 columns (lightning.cu)";
#define MVL_X(id, w, u, cs, pipe) \
  if (kernel == id) return fmt::format("rows w{} u{}{}{}", w, u, cs ? " cs" : "", pipe ? " pipe" : "");
  MVL_LIGHTNING_DECODE_VARIANTS(MVL_X)
#undef MVL_X
  throw_error(ErrorCategory::invalid_argument,
              fmt::format("cuda::lightning_decode: no kernel {} (0..{})", kernel,
                          kLightningDecodeKernels - 1));
}

namespace {

// Checks q, k, v, o, slopes; returns the parameters (without the state).
RowParams row_params(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                     const Tensor& o) {
  const int64_t B = q.dim(0), H = q.dim(1);
  check_lightning_view(q, "q", B, H);
  check_lightning_view(k, "k", B, H);
  check_lightning_view(v, "v", B, H);
  check_lightning_view(o, "o", B, H);
  MVL_CHECK(slopes.dtype() == DType::f32 && slopes.numel() == H, shape_mismatch,
            "cuda::lightning_decode: slopes {}", slopes.str());
  RowParams p{};
  set_decode_io(p, q, k, v, o, slopes);
  return p;
}

void launch_rows(const Context& ctx, const RowParams& p, int64_t B, int kernel) {
  const auto grid = static_cast<unsigned>(B * p.H);
#define MVL_X(id, w, u, cs, pipe)                                                         \
  if (kernel == id) {                                                                     \
    lightning_decode_rows_kernel<w, u, cs, pipe><<<grid, w * 32, 0, ctx.stream()>>>(p); \
    MVL_CUDA_CHECK_LAUNCH();                                                              \
    return;                                                                               \
  }
  MVL_LIGHTNING_DECODE_VARIANTS(MVL_X)
#undef MVL_X
  throw_error(ErrorCategory::invalid_argument,
              fmt::format("cuda::lightning_decode: no row kernel {}", kernel));
}

}  // namespace

void lightning_decode(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      const Tensor& slopes, const Tensor& state, const Tensor& o,
                      const LightningDecodeTuning& tu) {
  MVL_CHECK(tu.kernel >= 0 && tu.kernel < kLightningDecodeKernels, invalid_argument,
            "cuda::lightning_decode: no kernel {} (0..{})", tu.kernel, kLightningDecodeKernels - 1);
  if (tu.kernel == 0) return lightning_decode(ctx, q, k, v, slopes, state, o);
  const int64_t B = q.dim(0), H = q.dim(1);
  RowParams p = row_params(q, k, v, slopes, o);
  MVL_CHECK(state.dtype() == DType::f32 && state.is_contiguous() && state.ndim() == 4 &&
                state.dim(0) == B && state.dim(1) == H && state.dim(2) == kDK &&
                state.dim(3) == kDK && state.offset_bytes() % 16 == 0,
            shape_mismatch, "cuda::lightning_decode: state must be f32 [{}, {}, 128, 128], got {}",
            B, H, state.str());
  if (B == 0) return;
  p.state = static_cast<float*>(state.data());
  launch_rows(ctx, p, B, tu.kernel);
}

void lightning_decode_gather(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                             const Tensor& slopes, const Tensor& state_ptrs, const Tensor& o,
                             const LightningDecodeTuning& tu) {
  MVL_CHECK(tu.kernel >= 0 && tu.kernel < kLightningDecodeKernels, invalid_argument,
            "cuda::lightning_decode_gather: no kernel {} (0..{})", tu.kernel,
            kLightningDecodeKernels - 1);
  const int64_t B = q.dim(0);
  RowParams p = row_params(q, k, v, slopes, o);
  MVL_CHECK(state_ptrs.dtype() == DType::i64 && state_ptrs.numel() == B &&
                state_ptrs.is_contiguous() && state_ptrs.device().is_cuda(),
            shape_mismatch, "cuda::lightning_decode_gather: state_ptrs must be i64 [{}] on the GPU, got {}",
            B, state_ptrs.str());
  if (B == 0) return;
  p.state_ptrs = static_cast<const int64_t*>(state_ptrs.data());
  launch_rows(ctx, p, B, tu.kernel == 0 ? kLightningDecodeGatherDefault : tu.kernel);
}

}  // namespace mvl::cuda
