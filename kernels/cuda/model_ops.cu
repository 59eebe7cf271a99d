// Generic f32-activation CUDA kernels behind ops:: (see model_ops.h): simple, one thread
// block per row/head, f32 accumulation, correct for every shape the CPU reference takes.
#include "kernels/cuda/model_ops.h"

#include <cmath>
#include <cuda_bf16.h>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/storage.h"

namespace mvl::cuda {

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

__device__ __forceinline__ float ldw(const void* w, bool bf16, int64_t i) {
  return bf16 ? __bfloat162float(static_cast<const __nv_bfloat16*>(w)[i]) : static_cast<const float*>(w)[i];
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float block_sum(float v, float* red) {
  v = warp_sum(v);
  const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) red[wid] = v;
  __syncthreads();
  float t = 0.0f;
  for (int i = 0; i < (blockDim.x + 31) / 32; ++i) t += red[i];
  return t;
}
__device__ __forceinline__ float block_max(float v, float* red) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) red[wid] = v;
  __syncthreads();
  float t = -INFINITY;
  for (int i = 0; i < (blockDim.x + 31) / 32; ++i) t = fmaxf(t, red[i]);
  return t;
}
__device__ __forceinline__ float round_bf16(float v) { return __bfloat162float(__float2bfloat16_rn(v)); }

int blocks_for(int64_t n, int threads) { return static_cast<int>((n + threads - 1) / threads); }
bool is_bf16(const Tensor& w) { return w.dtype() == DType::bf16; }

struct Strides4 {
  int64_t shape[4];
  int64_t dst[4];
  int64_t src[4];
};

template <typename T>
__global__ void copy_strided_kernel(T* dst, const T* src, Strides4 s, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  int64_t r = i, od = 0, os = 0;
  for (int d = 3; d >= 0; --d) {
    const int64_t c = r % s.shape[d];
    r /= s.shape[d];
    od += c * s.dst[d];
    os += c * s.src[d];
  }
  dst[od] = src[os];
}

// One warp per output element y[r, c].
__global__ void linear_kernel(const float* x, const void* w, bool wbf, float* y, int64_t n, int64_t in,
                              int64_t out) {
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp >= n * out) return;
  const int64_t r = warp / out, c = warp % out;
  const float* xr = x + r * in;
  float acc = 0.0f;
  for (int64_t j = lane; j < in; j += 32) acc += xr[j] * ldw(w, wbf, c * in + j);
  acc = warp_sum(acc);
  if (lane == 0) y[r * out + c] = acc;
}

__global__ void axpby_kernel(const float* a, float alpha, const float* b, float beta, float* out, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float pa = alpha * a[i];
  out[i] = b ? pa + beta * b[i] : pa;
}
__global__ void mul_kernel(const float* a, const float* b, float* out, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = a[i] * b[i];
}
// kind: 0 silu, 1 sigmoid, 2 gelu (erf), 3 quick_gelu
__global__ void act_kernel(const float* x, float* y, int64_t n, int kind) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float v = x[i];
  float r;
  if (kind == 0) r = v / (1.0f + expf(-v));
  else if (kind == 1) r = 1.0f / (1.0f + expf(-v));
  else if (kind == 2) r = v * 0.5f * (1.0f + erff(v * 0.70710678118654752f));
  else r = v / (1.0f + expf(-1.702f * v));
  y[i] = r;
}

__global__ void rms_norm_kernel(const float* x, const void* w, bool wbf, float* y, int64_t d, float eps,
                                bool rb) {
  __shared__ float red[32];
  const float* xr = x + blockIdx.x * d;
  float* yr = y + blockIdx.x * d;
  float ss = 0.0f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) ss += xr[j] * xr[j];
  ss = block_sum(ss, red);
  const float inv = 1.0f / sqrtf(ss / static_cast<float>(d) + eps);
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    float v = xr[j] * inv;
    if (rb) v = round_bf16(v);
    v *= ldw(w, wbf, j);
    yr[j] = rb ? round_bf16(v) : v;
  }
}

__global__ void embedding_kernel(const void* table, bool tbf, const int32_t* ids, float* out, int64_t h,
                                 int64_t vocab) {
  int64_t id = ids[blockIdx.x];
  if (id < 0 || id >= vocab) id = 0;  // validated on the host where ids come from the host
  for (int64_t j = threadIdx.x; j < h; j += blockDim.x) out[blockIdx.x * h + j] = ldw(table, tbf, id * h + j);
}

struct InvFreq {
  float v[64];
};
// grid (n, H); threads over d.
// positions: i32 [n] on the device, or null for pos0 + t (a captured decode step reads its
// position from device memory, so one graph replays at every step).
__global__ void rope_kernel(const float* x, int64_t s0, int64_t s1, float* out, int64_t heads, int64_t d,
                            int64_t pos0, const int32_t* positions, int64_t rot, InvFreq inv) {
  const int64_t t = blockIdx.x, h = blockIdx.y, half = rot / 2;
  const float* xi = x + t * s0 + h * s1;
  float* yo = out + (t * heads + h) * d;
  const float p = static_cast<float>(positions ? static_cast<int64_t>(positions[t]) : pos0 + t);
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    if (j < half) {
      const float ang = p * inv.v[j];
      yo[j] = xi[j] * cosf(ang) - xi[j + half] * sinf(ang);
    } else if (j < rot) {
      const float ang = p * inv.v[j - half];
      yo[j] = xi[j] * cosf(ang) + xi[j - half] * sinf(ang);
    } else {
      yo[j] = xi[j];
    }
  }
}

struct QkvStrides {
  int64_t q0, q1, k0, k1, v0, v1;
};
// One block per head, thread c owns value column c of S (d rows, in a local array).
constexpr int kMaxLightningD = 256;
__global__ void lightning_kernel(const float* q, const float* k, const float* v, QkvStrides s,
                                 const float* slopes, float* state, float* o, int64_t n, int64_t heads,
                                 int64_t d) {
  extern __shared__ float sh[];  // q_t [d], k_t [d]
  float* qs = sh;
  float* ks = sh + d;
  const int64_t h = blockIdx.x;
  const int c = threadIdx.x;
  const float lambda = expf(-slopes[h]);
  float* S = state + h * d * d;
  float col[kMaxLightningD];
  for (int64_t i = 0; i < d; ++i) col[i] = c < d ? S[i * d + c] : 0.0f;
  for (int64_t t = 0; t < n; ++t) {
    __syncthreads();
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
      qs[j] = q[t * s.q0 + h * s.q1 + j];
      ks[j] = k[t * s.k0 + h * s.k1 + j];
    }
    __syncthreads();
    if (c < d) {
      const float vc = v[t * s.v0 + h * s.v1 + c];
      float acc = 0.0f;
      for (int64_t i = 0; i < d; ++i) {
        col[i] = lambda * col[i] + ks[i] * vc;
        acc += qs[i] * col[i];
      }
      o[(t * heads + h) * d + c] = acc;
    }
  }
  if (c < d)
    for (int64_t i = 0; i < d; ++i) S[i * d + c] = col[i];
}

// One block per (query i, head h): scores in shared memory, then the weighted value sum.
// kv_len: i32 [1] on the device, or null. When given, only keys [0, kv_len) exist and the
// queries are the last gridDim.x of them (q_offset = kv_len - n_q): decode over a cache
// whose length is read from device memory.
__global__ void attention_kernel(const float* q, const float* k, const float* v, QkvStrides s, float* o,
                                 int64_t nk, int64_t heads, int64_t group, int64_t d, float scale, bool causal,
                                 int64_t q_offset, const int32_t* kv_len) {
  extern __shared__ float sc[];  // [nk] scores, then red[32]
  float* red = sc + nk;
  if (kv_len) {
    const int64_t len = min(static_cast<int64_t>(kv_len[0]), nk);
    q_offset = len - static_cast<int64_t>(gridDim.x);
    nk = len;
  }
  const int64_t i = blockIdx.x, h = blockIdx.y, hk = h / group;
  const float* qi = q + i * s.q0 + h * s.q1;
  const int64_t last = causal ? min(nk - 1, q_offset + i) : nk - 1;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j <= last; j += blockDim.x) {
    const float* kj = k + j * s.k0 + hk * s.k1;
    float acc = 0.0f;
    for (int64_t c = 0; c < d; ++c) acc += qi[c] * kj[c];
    sc[j] = acc * scale;
    mx = fmaxf(mx, sc[j]);
  }
  mx = block_max(mx, red);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j <= last; j += blockDim.x) {
    sc[j] = expf(sc[j] - mx);
    sum += sc[j];
  }
  sum = block_sum(sum, red);
  __syncthreads();
  for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
    float acc = 0.0f;
    for (int64_t j = 0; j <= last; ++j) acc += sc[j] * v[j * s.v0 + hk * s.v1 + c];
    o[(i * heads + h) * d + c] = acc / sum;
  }
}

// One thread per token; E <= 256.
__global__ void moe_route_kernel(const float* logits, int64_t n, int64_t E, int64_t k, int32_t* experts,
                                 float* weights) {
  const int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (t >= n) return;
  const float* l = logits + t * E;
  float mx = l[0];
  for (int64_t e = 1; e < E; ++e) mx = fmaxf(mx, l[e]);
  float sum = 0.0f;
  for (int64_t e = 0; e < E; ++e) sum += expf(l[e] - mx);
  // Selection: repeatedly the largest p not yet taken, lowest index on ties (= stable sort).
  uint32_t taken[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  float top = 0.0f;
  for (int64_t j = 0; j < k; ++j) {
    int64_t best = -1;
    float bp = 0.0f;
    for (int64_t e = 0; e < E; ++e) {
      if (taken[e >> 5] & (1u << (e & 31))) continue;
      const float p = expf(l[e] - mx) / sum;
      if (best < 0 || p > bp) {
        best = e;
        bp = p;
      }
    }
    taken[best >> 5] |= 1u << (best & 31);
    experts[t * k + j] = static_cast<int32_t>(best);
    weights[t * k + j] = bp;
    top += bp;
  }
  for (int64_t j = 0; j < k; ++j) weights[t * k + j] /= top;
}

__device__ __forceinline__ float routed_weight(const int32_t* experts, const float* weights, int64_t t,
                                               int64_t k, int32_t e) {
  for (int64_t j = 0; j < k; ++j)
    if (experts[t * k + j] == e) return weights[t * k + j];
  return -1.0f;
}
// Warp per (t, i): h[t, i] = silu(w1[i]·x_t) * (w3[i]·x_t) for routed tokens.
__global__ void moe_up_kernel(const float* x, const int32_t* experts, const float* weights, int64_t k,
                              int32_t e, const void* w1, const void* w3, bool wbf, float* h, int64_t n,
                              int64_t H, int64_t I) {
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp >= n * I) return;
  const int64_t t = warp / I, i = warp % I;
  if (routed_weight(experts, weights, t, k, e) < 0.0f) return;
  float g = 0.0f, u = 0.0f;
  for (int64_t j = lane; j < H; j += 32) {
    const float xv = x[t * H + j];
    g += xv * ldw(w1, wbf, i * H + j);
    u += xv * ldw(w3, wbf, i * H + j);
  }
  g = warp_sum(g);
  u = warp_sum(u);
  if (lane == 0) h[t * I + i] = (g / (1.0f + expf(-g))) * u;
}
// Warp per (t, c): out[t, c] += wt * (w2[c]·h_t) for routed tokens.
__global__ void moe_down_kernel(const float* h, const int32_t* experts, const float* weights, int64_t k,
                                int32_t e, const void* w2, bool wbf, float* out, int64_t n, int64_t H,
                                int64_t I) {
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp >= n * H) return;
  const int64_t t = warp / H, c = warp % H;
  const float wt = routed_weight(experts, weights, t, k, e);
  if (wt < 0.0f) return;
  float acc = 0.0f;
  for (int64_t j = lane; j < I; j += 32) acc += h[t * I + j] * ldw(w2, wbf, c * I + j);
  acc = warp_sum(acc);
  if (lane == 0) out[t * H + c] += acc * wt;
}

void check_f32(const Tensor& t, const char* what) {
  MVL_CHECK(t.dtype() == DType::f32 && t.is_contiguous(), unsupported, "{}: expected contiguous f32, got {}",
            what, t.str());
}

}  // namespace

Tensor empty_with(const Shape& shape, DType dtype, const std::shared_ptr<const Context>& ctx) {
  MVL_CHECK(ctx != nullptr, internal, "empty_with: no CUDA context");
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  auto st = std::make_shared<ContextStorage>(bytes, ctx);
  Tensor t(st, 0, shape, contiguous_strides(shape), dtype);
  if (bytes) MVL_CUDA_CHECK(cudaMemsetAsync(t.data(), 0, bytes, ctx->stream()));
  return t;
}

Tensor empty_uninit_with(const Shape& shape, DType dtype, const std::shared_ptr<const Context>& ctx) {
  MVL_CHECK(ctx != nullptr, internal, "empty_uninit_with: no CUDA context");
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  return Tensor(std::make_shared<ContextStorage>(bytes, ctx), 0, shape, contiguous_strides(shape), dtype);
}

std::shared_ptr<const Context> context_of(const Tensor& t) {
  if (!t.defined()) return nullptr;
  const auto* s = dynamic_cast<const ContextStorage*>(t.storage().get());
  return s ? s->context() : nullptr;
}

void copy_strided(const Context& ctx, const Tensor& dst, const Tensor& src) {
  MVL_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype(), shape_mismatch,
            "copy_strided: {} vs {}", dst.str(), src.str());
  MVL_CHECK(dst.ndim() <= 4, unsupported, "copy_strided: at most 4 dims, got {}", dst.str());
  const int64_t n = dst.numel();
  if (n == 0) return;
  Strides4 s{};
  const int off = 4 - dst.ndim();
  for (int d = 0; d < 4; ++d) {
    s.shape[d] = 1;
    s.dst[d] = s.src[d] = 0;
  }
  for (int d = 0; d < dst.ndim(); ++d) {
    s.shape[off + d] = dst.dim(d);
    s.dst[off + d] = dst.strides()[d];
    s.src[off + d] = src.strides()[d];
  }
  const size_t es = dtype_size(dst.dtype());
  if (es == 4)
    copy_strided_kernel<uint32_t><<<blocks_for(n, 256), 256, 0, ctx.stream()>>>(
        static_cast<uint32_t*>(dst.data()), static_cast<const uint32_t*>(src.data()), s, n);
  else if (es == 2)
    copy_strided_kernel<uint16_t><<<blocks_for(n, 256), 256, 0, ctx.stream()>>>(
        static_cast<uint16_t*>(dst.data()), static_cast<const uint16_t*>(src.data()), s, n);
  else
    throw_error(ErrorCategory::unsupported, fmt::format("copy_strided: {}-byte elements", es));
  MVL_CUDA_CHECK(cudaGetLastError());
}

void linear_f32(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& y) {
  check_f32(x, "linear x");
  check_f32(y, "linear y");
  const int64_t in = w.dim(1), out = w.dim(0), n = x.numel() / in;
  if (n * out == 0) return;
  linear_kernel<<<blocks_for(n * out * 32, 256), 256, 0, ctx.stream()>>>(x.data<float>(), w.data(), is_bf16(w),
                                                                        y.data<float>(), n, in, out);
  MVL_CUDA_CHECK(cudaGetLastError());
}

void axpby_f32(const Context& ctx, const Tensor& a, float alpha, const Tensor& b, float beta, const Tensor& out) {
  const int64_t n = a.numel();
  if (n == 0) return;
  axpby_kernel<<<blocks_for(n, 256), 256, 0, ctx.stream()>>>(
      a.data<float>(), alpha, b.defined() ? b.data<float>() : nullptr, beta, out.data<float>(), n);
  MVL_CUDA_CHECK(cudaGetLastError());
}

void mul_f32(const Context& ctx, const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t n = a.numel();
  if (n == 0) return;
  mul_kernel<<<blocks_for(n, 256), 256, 0, ctx.stream()>>>(a.data<float>(), b.data<float>(), out.data<float>(), n);
  MVL_CUDA_CHECK(cudaGetLastError());
}

void activation_f32(const Context& ctx, const Tensor& x, const std::string& name, const Tensor& out) {
  int kind = -1;
  if (name == "silu") kind = 0;
  else if (name == "sigmoid") kind = 1;
  else if (name == "gelu") kind = 2;
  else if (name == "quick_gelu") kind = 3;
  MVL_CHECK(kind >= 0, unsupported, "activation '{}' is not supported (silu, sigmoid, gelu, quick_gelu)", name);
  const int64_t n = x.numel();
  if (n == 0) return;
  act_kernel<<<blocks_for(n, 256), 256, 0, ctx.stream()>>>(x.data<float>(), out.data<float>(), n, kind);
  MVL_CUDA_CHECK(cudaGetLastError());
}

void rms_norm_f32(const Context& ctx, const Tensor& x, const Tensor& w, float eps, bool round_bf16,
                  const Tensor& y) {
  const int64_t d = w.dim(0), rows = x.numel() / d;
  if (rows == 0) return;
  rms_norm_kernel<<<static_cast<unsigned>(rows), 256, 0, ctx.stream()>>>(x.data<float>(), w.data(), is_bf16(w),
                                                                         y.data<float>(), d, eps, round_bf16);
  MVL_CUDA_CHECK(cudaGetLastError());
}

void embedding_f32(const Context& ctx, const Tensor& table, const Tensor& ids, const Tensor& out) {
  const int64_t n = ids.numel();
  if (n == 0) return;
  embedding_kernel<<<static_cast<unsigned>(n), 128, 0, ctx.stream()>>>(
      table.data(), is_bf16(table), ids.data<int32_t>(), out.data<float>(), table.dim(1), table.dim(0));
  MVL_CUDA_CHECK(cudaGetLastError());
}

void rope_f32(const Context& ctx, const Tensor& x, int64_t pos0, int64_t rotary_dim, double theta,
              const Tensor& out, const Tensor& positions) {
  MVL_CHECK(rotary_dim / 2 <= 64, unsupported, "rope on CUDA: rotary_dim {} > 128", rotary_dim);
  InvFreq inv{};
  for (int64_t i = 0; i < rotary_dim / 2; ++i) {
    const float e = static_cast<float>(2 * i) / static_cast<float>(rotary_dim);
    inv.v[i] = 1.0f / std::pow(static_cast<float>(theta), e);
  }
  const int64_t n = x.dim(0), heads = x.dim(1), d = x.dim(2);
  if (n * heads == 0) return;
  rope_kernel<<<dim3(static_cast<unsigned>(n), static_cast<unsigned>(heads)), 128, 0, ctx.stream()>>>(
      x.data<float>(), x.strides()[0], x.strides()[1], out.data<float>(), heads, d, pos0,
      positions.defined() ? positions.data<int32_t>() : nullptr, rotary_dim, inv);
  MVL_CUDA_CHECK(cudaGetLastError());
}

void lightning_recurrent_f32(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                             const Tensor& slopes, const Tensor& state, const Tensor& o) {
  const int64_t n = q.dim(0), heads = q.dim(1), d = q.dim(2);
  MVL_CHECK(d <= kMaxLightningD, unsupported, "lightning on CUDA: head dim {} > {}", d, kMaxLightningD);
  if (heads == 0 || n == 0) return;
  const QkvStrides s{q.strides()[0], q.strides()[1], k.strides()[0], k.strides()[1], v.strides()[0], v.strides()[1]};
  const int threads = static_cast<int>((d + 31) / 32 * 32);
  lightning_kernel<<<static_cast<unsigned>(heads), threads, 2 * d * sizeof(float), ctx.stream()>>>(
      q.data<float>(), k.data<float>(), v.data<float>(), s, slopes.data<float>(), state.data<float>(),
      o.data<float>(), n, heads, d);
  MVL_CUDA_CHECK(cudaGetLastError());
}

void attention_f32(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                   bool causal, int64_t q_offset, const Tensor& o, const Tensor& kv_len) {
  const int64_t nq = q.dim(0), heads = q.dim(1), d = q.dim(2), nk = k.dim(0), hkv = k.dim(1);
  if (nq * heads == 0) return;
  const size_t smem = (static_cast<size_t>(nk) + 32) * sizeof(float);
  MVL_CHECK(smem <= ctx.max_smem_optin(), unsupported,
            "attention on CUDA (generic path): {} keys exceed the shared-memory score buffer", nk);
  if (smem > 48 * 1024)
    MVL_CUDA_CHECK(cudaFuncSetAttribute(attention_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(smem)));
  const QkvStrides s{q.strides()[0], q.strides()[1], k.strides()[0], k.strides()[1], v.strides()[0], v.strides()[1]};
  attention_kernel<<<dim3(static_cast<unsigned>(nq), static_cast<unsigned>(heads)), 128, smem, ctx.stream()>>>(
      q.data<float>(), k.data<float>(), v.data<float>(), s, o.data<float>(), nk, heads, heads / hkv, d, scale,
      causal, q_offset, kv_len.defined() ? kv_len.data<int32_t>() : nullptr);
  MVL_CUDA_CHECK(cudaGetLastError());
}

void moe_route_f32(const Context& ctx, const Tensor& logits, int64_t k, const Tensor& experts,
                   const Tensor& weights) {
  const int64_t n = logits.dim(0), E = logits.dim(1);
  MVL_CHECK(E <= 256 && k <= E, unsupported, "moe_route on CUDA: {} experts (max 256), top {}", E, k);
  if (n == 0) return;
  moe_route_kernel<<<blocks_for(n, 128), 128, 0, ctx.stream()>>>(logits.data<float>(), n, E, k,
                                                                 experts.data<int32_t>(), weights.data<float>());
  MVL_CUDA_CHECK(cudaGetLastError());
}

void moe_expert_accumulate_f32(const Context& ctx, const Tensor& x, const Tensor& experts, const Tensor& weights,
                               int32_t e, const Tensor& w1, const Tensor& w3, const Tensor& w2, const Tensor& h,
                               const Tensor& out) {
  const int64_t n = x.dim(0), H = x.dim(1), I = w1.dim(0), k = experts.dim(1);
  if (n == 0) return;
  moe_up_kernel<<<blocks_for(n * I * 32, 256), 256, 0, ctx.stream()>>>(
      x.data<float>(), experts.data<int32_t>(), weights.data<float>(), k, e, w1.data(), w3.data(), is_bf16(w1),
      h.data<float>(), n, H, I);
  MVL_CUDA_CHECK(cudaGetLastError());
  moe_down_kernel<<<blocks_for(n * H * 32, 256), 256, 0, ctx.stream()>>>(
      h.data<float>(), experts.data<int32_t>(), weights.data<float>(), k, e, w2.data(), is_bf16(w2),
      out.data<float>(), n, H, I);
  MVL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mvl::cuda
