// quant_moe_sweep: the configuration sweep of the quantized-MoE decode kernels (issue 17) at the
// released shapes (D 6144, F 9216, 32 experts, top-2; n = 1, 8, 64 tokens). For int8, fp8 e4m3
// and int4 g128 it builds random experts, runs the kernels as they were before the speed work
// (quant_moe_sweep_base.cuh, a verbatim copy) and every configuration of the product kernels
// (quant_moe_sweep_variants.cuh), checks each output against the baseline's (gate/up: the bf16
// hidden h; down: the bf16 output from the baseline's h), times each kernel alone (median of
// --reps CUDA-graph replays of --inner launches), and prints ms, the ratio to its bytes floor
// (the touched experts' codes + scales at the measured device-to-device copy rate, as
// `minimax-vl bench --path kernels`), the diff, and the best passing configuration per
// format/n. The product configuration (QmoeTuned in kernels/cuda/quant_moe.cu) is marked '*'.
//   quant_moe_sweep [--reps 25] [--inner 10] [--n 1,8,64] [--formats int8,fp8,int4]
// PASS: bit-identical to the baseline ("exact"), or a norm-relative diff <= 2e-3 (about one bf16
// rounding; the parity test allows 4x a plain bf16 MoE's error + 1e-3). FAIL otherwise.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/bench/quant_moe_sweep.h"
#include "kernels/bench/quant_moe_sweep_base.cuh"
#include "kernels/bench/timing.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/quant.h"
#include "kernels/cuda/storage.h"

namespace mvl::cuda::sweep {
namespace {

using dev::bf16;

constexpr int kD = 6144, kF = 9216, kE = 32;

__device__ __forceinline__ uint32_t mix(uint64_t i, uint64_t seed) {
  uint64_t z = i * 0x9E3779B97F4A7C15ull + seed * 0xBF58476D1CE4E5B9ull + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return static_cast<uint32_t>(z ^ (z >> 31));
}

// Random codes: int8 q in [-127, 127]; fp8 any finite e4m3 byte; int4 any nibbles.
__global__ void fill_codes(uint8_t* c, int64_t n, int fmt, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const uint32_t r = mix(i, seed);
    uint8_t b = static_cast<uint8_t>(r);
    if (fmt == qdev::kI8) b = static_cast<uint8_t>(static_cast<int8_t>(int(r % 255u) - 127));
    if (fmt == qdev::kF8 && (b & 0x7F) == 0x7F) b ^= 0x01;  // not NaN
    c[i] = b;
  }
}
// Scales s0 * [0.5, 1.5); zeros (int4) integers in [4, 11].
__global__ void fill_scales(float* s, float* z, int64_t n, float s0, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const uint32_t r = mix(i, seed);
    s[i] = s0 * (0.5f + static_cast<float>(r >> 8) * (1.0f / 16777216.0f));
    if (z) z[i] = static_cast<float>(4 + (r & 7u));
  }
}

float bf16_to_f(uint16_t v) {
  uint32_t u = uint32_t{v} << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

struct Diff {
  double max_abs = 0, max_rel = 0, norm_rel = 0;
  bool finite = true;
  bool pass() const { return finite && norm_rel <= 2e-3; }
  std::string str() const {
    char b[96];
    if (!finite) return "NON-FINITE FAIL";
    if (max_abs == 0) return "exact";
    std::snprintf(b, sizeof b, "abs %.2g rel %.2g nrm %.2g%s", max_abs, max_rel, norm_rel,
                  pass() ? "" : " FAIL");
    return b;
  }
};

Diff compare(const void* dev_a, const void* dev_b, int64_t count) {
  std::vector<uint16_t> a(count), b(count);
  MVL_CUDA_CHECK(cudaMemcpy(a.data(), dev_a, count * 2, cudaMemcpyDeviceToHost));
  MVL_CUDA_CHECK(cudaMemcpy(b.data(), dev_b, count * 2, cudaMemcpyDeviceToHost));
  Diff d;
  double num = 0, den = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double x = bf16_to_f(a[i]), y = bf16_to_f(b[i]);
    if (!std::isfinite(x) || !std::isfinite(y)) d.finite = false;
    const double e = std::fabs(x - y);
    d.max_abs = std::max(d.max_abs, e);
    if (e > 0) d.max_rel = std::max(d.max_rel, e / std::max(std::fabs(y), 1e-30));
    num += e * e;
    den += y * y;
  }
  d.norm_rel = den > 0 ? std::sqrt(num / den) : (num > 0 ? INFINITY : 0);
  return d;
}

struct Routing {
  std::vector<int32_t> offsets, perm, active;
  std::vector<float> wts;
  int n_act = 0;
};

// Random top-2 routing of n tokens as moe.cu's decode_route_sort_kernel lays it out.
Routing route(int n, uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<int> idx(2 * n);
  Routing r;
  r.wts.resize(2 * n);
  for (int t = 0; t < n; ++t) {
    const int a = static_cast<int>(g() % kE);
    int b = static_cast<int>(g() % (kE - 1));
    if (b >= a) ++b;
    idx[2 * t] = a;
    idx[2 * t + 1] = b;
    const float w = 0.5f + 0.5f * static_cast<float>(g() % 1000) / 1000.f;
    r.wts[2 * t] = w;
    r.wts[2 * t + 1] = 1.f - w;
  }
  r.offsets.assign(kE + 1, 0);
  r.active.assign(kE + 1, 0);
  for (int e = 0; e < kE; ++e) {
    r.offsets[e + 1] = r.offsets[e];
    bool any = false;
    for (int a = 0; a < 2 * n; ++a)
      if (idx[a] == e) {
        r.perm.push_back(a);
        ++r.offsets[e + 1];
        any = true;
      }
    if (any) r.active[r.n_act++] = e;
  }
  r.active[kE] = r.n_act;
  return r;
}

template <typename T>
T* dalloc(int64_t count) {
  void* p = nullptr;
  MVL_CUDA_CHECK(cudaMalloc(&p, std::max<int64_t>(count, 1) * sizeof(T)));
  return static_cast<T*>(p);
}

struct Row {
  std::string fmt, kernel, variant;
  int n;
  double ms, floor_ms;
  Diff diff;
  bool product;
};

int format_tag(const std::string& f) {
  return f == "int8" ? qdev::kI8 : f == "fp8" ? qdev::kF8 : qdev::kI4;
}

void run_base(int F, const qmoe::DecodeArgs& a, cudaStream_t s, bool gu, bool dn) {
  auto go = [&](auto tag) {
    qmoe_base::launch<decltype(tag)::value>(a.x, a.c13, a.s13, a.z13, a.c2, a.s2, a.z2, a.offsets,
                                            a.perm, a.wts, a.active, a.h, a.out, a.n, a.D, a.F, a.E,
                                            s, gu, dn);
  };
  if (F == qdev::kI8) go(std::integral_constant<int, qdev::kI8>{});
  if (F == qdev::kF8) go(std::integral_constant<int, qdev::kF8>{});
  if (F == qdev::kI4) go(std::integral_constant<int, qdev::kI4>{});
  MVL_CUDA_CHECK_LAUNCH();
}

std::vector<int> parse_list(const char* s) {
  std::vector<int> v;
  for (const char* p = s; *p;) {
    v.push_back(std::atoi(p));
    while (*p && *p != ',') ++p;
    if (*p) ++p;
  }
  return v;
}

int run(int argc, char** argv) {
  int reps = 25, inner = 10;
  std::vector<int> ns = {1, 8, 64};
  std::string formats = "int8,fp8,int4";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--reps")
      reps = std::max(20, std::atoi(argv[i + 1]));
    else if (k == "--inner")
      inner = std::max(1, std::atoi(argv[i + 1]));
    else if (k == "--n")
      ns = parse_list(argv[i + 1]);
    else if (k == "--formats")
      formats = argv[i + 1];
    else {
      std::fprintf(stderr,
                   "usage: quant_moe_sweep [--reps N>=20] [--inner K] [--n 1,8,64] "
                   "[--formats int8,fp8,int4]\n");
      return 2;
    }
  }
  for (int n : ns)
    if (n < 1 || n > kMoeDecodeMaxTokens) {
      std::fprintf(stderr, "quant_moe_sweep: n %d outside 1..%lld\n", n,
                   static_cast<long long>(kMoeDecodeMaxTokens));
      return 2;
    }
  const Context ctx(0);
  cudaStream_t st = ctx.stream();
  cudaDeviceProp prop{};
  MVL_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  const double copy = measure_copy_bandwidth(ctx);  // bytes read + written per second
  std::printf(
      "GPU: %s (%d SMs); d2d copy %.0f GB/s (read + write); D %d F %d E %d top-2; "
      "median of %d graph replays of %d launches\n",
      prop.name, prop.multiProcessorCount, copy / 1e9, kD, kF, kE, reps, inner);

  // Buffers sized for int8 (the largest codes); int4 uses half the code bytes and 48/72 groups.
  const int64_t rows13 = int64_t(kE) * 2 * kF, rows2 = int64_t(kE) * kD;
  const int64_t g13 = kD / kInt4GroupSize, g2 = kF / kInt4GroupSize;
  uint8_t* c13 = dalloc<uint8_t>(rows13 * kD);
  uint8_t* c2 = dalloc<uint8_t>(rows2 * kF);
  float *s13 = dalloc<float>(rows13 * g13), *z13 = dalloc<float>(rows13 * g13);
  float *s2 = dalloc<float>(rows2 * g2), *z2 = dalloc<float>(rows2 * g2);
  const int nmax = kMoeDecodeMaxTokens;
  auto* x = dalloc<bf16>(int64_t(nmax) * kD);
  auto *h_base = dalloc<bf16>(2 * int64_t(nmax) * kF), *h_v = dalloc<bf16>(2 * int64_t(nmax) * kF);
  auto *o_base = dalloc<bf16>(int64_t(nmax) * kD), *o_v = dalloc<bf16>(int64_t(nmax) * kD);
  auto *d_off = dalloc<int32_t>(kE + 1), *d_act = dalloc<int32_t>(kE + 1);
  auto* d_perm = dalloc<int32_t>(2 * nmax);
  auto* d_wts = dalloc<float>(2 * nmax);
  fill_uniform(ctx, x, int64_t(nmax) * kD, true, -1.f, 1.f, 14);

  auto time_ms = [&](const std::function<void()>& one) {
    one();  // warm
    MVL_CUDA_CHECK(cudaStreamSynchronize(st));
    return median(time_graph(
               ctx,
               [&] {
                 for (int i = 0; i < inner; ++i) one();
               },
               reps)) /
           inner;
  };

  std::vector<Row> rows_out;
  for (const std::string& fmt : std::vector<std::string>{"int8", "fp8", "int4"}) {
    if (formats.find(fmt) == std::string::npos) continue;
    const int F = format_tag(fmt);
    const bool i4 = F == qdev::kI4;
    const std::vector<Variant> vs = F == qdev::kI8   ? variants_int8()
                                    : F == qdev::kF8 ? variants_fp8()
                                                     : variants_int4();
    const int64_t rb13 = i4 ? kD / 2 : kD, rb2 = i4 ? kF / 2 : kF;
    const int64_t sg13 = i4 ? g13 : 1, sg2 = i4 ? g2 : 1;
    fill_codes<<<4096, 256, 0, st>>>(c13, rows13 * rb13, F, 21);
    fill_codes<<<4096, 256, 0, st>>>(c2, rows2 * rb2, F, 22);
    // Scales giving weights of about +-0.035 (the released model's range).
    const float s0 = F == qdev::kI8 ? 0.0346f / 127 : F == qdev::kF8 ? 0.0346f / 448 : 0.0692f / 15;
    fill_scales<<<1024, 256, 0, st>>>(s13, i4 ? z13 : nullptr, rows13 * sg13, s0, 23);
    fill_scales<<<1024, 256, 0, st>>>(s2, i4 ? z2 : nullptr, rows2 * sg2, s0, 24);
    MVL_CUDA_CHECK_LAUNCH();
    // Bytes per row read by each kernel: codes + scales (+ zeros).
    const double bytes13 = rb13 + 4.0 * sg13 * (i4 ? 2 : 1),
                 bytes2 = rb2 + 4.0 * sg2 * (i4 ? 2 : 1);
    for (int n : ns) {
      const Routing r = route(n, 1000u + static_cast<uint32_t>(n));
      MVL_CUDA_CHECK(cudaMemcpy(d_off, r.offsets.data(), 4 * (kE + 1), cudaMemcpyHostToDevice));
      MVL_CUDA_CHECK(cudaMemcpy(d_act, r.active.data(), 4 * (kE + 1), cudaMemcpyHostToDevice));
      MVL_CUDA_CHECK(cudaMemcpy(d_perm, r.perm.data(), 4 * r.perm.size(), cudaMemcpyHostToDevice));
      MVL_CUDA_CHECK(cudaMemcpy(d_wts, r.wts.data(), 4 * r.wts.size(), cudaMemcpyHostToDevice));
      const double floor_gu = r.n_act * 2.0 * kF * bytes13 / copy * 1e3;
      const double floor_dn = r.n_act * 1.0 * kD * bytes2 / copy * 1e3;
      qmoe::DecodeArgs base{x,     c13,   c2,     s13,    z13, s2, z2, d_off, d_perm,
                            d_act, d_wts, h_base, o_base, n,   kD, kF, kE};
      run_base(F, base, st, true, true);
      MVL_CUDA_CHECK(cudaStreamSynchronize(st));
      rows_out.push_back({fmt, "gate/up", "baseline", n,
                          time_ms([&] { run_base(F, base, st, true, false); }), floor_gu, Diff{},
                          false});
      rows_out.push_back({fmt, "down", "baseline", n,
                          time_ms([&] { run_base(F, base, st, false, true); }), floor_dn, Diff{},
                          false});
      for (const Variant& v : vs) {
        if (!v.any_n && ((v.tok > 1 && n == 1) || (v.tok == 1 && n > 8))) continue;
        const bool product = v.product && (v.any_n || (v.tok == 1) == (n <= kProductTok1MaxN));
        qmoe::DecodeArgs a = base;
        if (v.down)
          a.out = o_v;  // reads the baseline's h
        else
          a.h = h_v;
        MVL_CUDA_CHECK(cudaMemsetAsync(v.down ? static_cast<void*>(o_v) : static_cast<void*>(h_v),
                                       0xFF, v.down ? int64_t(n) * kD * 2 : 2 * int64_t(n) * kF * 2,
                                       st));
        v.launch(a, st);
        MVL_CUDA_CHECK_LAUNCH();
        MVL_CUDA_CHECK(cudaStreamSynchronize(st));
        const Diff d = v.down ? compare(o_v, o_base, int64_t(n) * kD)
                              : compare(h_v, h_base, 2 * int64_t(n) * kF);
        const double ms = time_ms([&] { v.launch(a, st); });
        rows_out.push_back({fmt, v.down ? "down" : "gate/up", v.name, n, ms,
                            v.down ? floor_dn : floor_gu, d, product});
      }
      std::fprintf(stderr, "%s n=%d done (%d experts touched)\n", fmt.c_str(), n, r.n_act);
    }
    // The dense decode GEMV (quant.cu; `--quant int8` runs it for every dense projection) at the
    // lightning layer's shapes (qkv 6144 -> 24576, out 8192 -> 6144), n <= 8: the verbatim
    // baseline against the product through cuda::quant_gemv (codes/scales reused from above).
    for (const auto& shape : std::vector<std::pair<int64_t, int>>{{24576, 6144}, {6144, 8192}})
      for (int n : ns) {
        if (n > 8) continue;
        const int64_t rows = shape.first;
        const int in = shape.second;
        const Tensor xt = empty({n, in}, DType::bf16, ctx);
        const Tensor yb = empty({n, rows}, DType::bf16, ctx),
                     yp = empty({n, rows}, DType::bf16, ctx);
        fill_uniform(ctx, xt.data(), xt.numel(), true, -1.f, 1.f, 31);
        QuantMatrix m;
        m.format = static_cast<WeightFormat>(F);
        m.codes = c13;
        m.scales = s13;
        m.zeros = i4 ? z13 : nullptr;
        m.rows = rows;
        m.in = in;
        const auto* xp = static_cast<const bf16*>(xt.data());
        auto base = [&] {
          auto go = [&](auto tag) {
            qmoe_base::launch_gemv<decltype(tag)::value>(
                xp, c13, s13, m.zeros, static_cast<bf16*>(yb.data()), n, rows, in, st);
          };
          if (F == qdev::kI8) go(std::integral_constant<int, qdev::kI8>{});
          if (F == qdev::kF8) go(std::integral_constant<int, qdev::kF8>{});
          if (F == qdev::kI4) go(std::integral_constant<int, qdev::kI4>{});
          MVL_CUDA_CHECK_LAUNCH();
        };
        auto prod = [&] { quant_gemv(ctx, xt, m, yp); };
        base();
        prod();
        MVL_CUDA_CHECK(cudaStreamSynchronize(st));
        const Diff d = compare(yp.data(), yb.data(), int64_t(n) * rows);
        const double fl = rows *
                          (double(quant_row_bytes(m.format, in)) +
                           4.0 * quant_row_scales(m.format, in) * (i4 ? 2 : 1)) /
                          copy * 1e3;
        const std::string k = "gemv " + std::to_string(rows) + "x" + std::to_string(in);
        rows_out.push_back({fmt, k, "baseline", n, time_ms(base), fl, Diff{}, false});
        rows_out.push_back({fmt, k, "product", n, time_ms(prod), fl, d, true});
      }
  }

  std::printf("\n%-5s %3s %-16s %-18s %9s %8s %7s  %s\n", "fmt", "n", "kernel", "variant", "ms",
              "floor", "xfloor", "diff vs baseline");
  for (const Row& r : rows_out)
    std::printf("%-5s %3d %-16s %-18s %9.4f %8.4f %7.2f  %s%s\n", r.fmt.c_str(), r.n,
                r.kernel.c_str(), r.variant.c_str(), r.ms, r.floor_ms, r.ms / r.floor_ms,
                r.variant == "baseline" ? "-" : r.diff.str().c_str(),
                r.product ? "  *product" : "");

  // Best passing configuration per format, n and kernel; then the layer (gate/up + down).
  std::printf(
      "\nbest passing per format/n (layer = gate/up + down; floor = both kernels' bytes)\n");
  std::printf("%-5s %3s %-18s %-18s %9s %7s | %-9s %7s | %-9s %7s\n", "fmt", "n", "best gate/up",
              "best down", "layer ms", "xfloor", "product", "xfloor", "baseline", "xfloor");
  for (const std::string& fmt : std::vector<std::string>{"int8", "fp8", "int4"})
    for (int n : ns) {
      const Row *bg = nullptr, *bd = nullptr, *pg = nullptr, *pd = nullptr, *b0 = nullptr,
                *b1 = nullptr;
      for (const Row& r : rows_out) {
        if (r.fmt != fmt || r.n != n || r.kernel.rfind("gemv", 0) == 0) continue;
        const bool gu = r.kernel == "gate/up";
        if (r.variant == "baseline") {
          (gu ? b0 : b1) = &r;
          continue;
        }
        if (r.product) (gu ? pg : pd) = &r;
        if (!r.diff.pass()) continue;
        const Row*& best = gu ? bg : bd;
        if (!best || r.ms < best->ms) best = &r;
      }
      if (!bg || !bd || !b0 || !b1) continue;
      const double fl = bg->floor_ms + bd->floor_ms;
      const double prod = pg && pd ? pg->ms + pd->ms : NAN;
      std::printf("%-5s %3d %-18s %-18s %9.4f %7.2f | %9.4f %7.2f | %9.4f %7.2f\n", fmt.c_str(), n,
                  bg->variant.c_str(), bd->variant.c_str(), bg->ms + bd->ms, (bg->ms + bd->ms) / fl,
                  prod, prod / fl, b0->ms + b1->ms, (b0->ms + b1->ms) / fl);
    }
  std::printf("\ndense GEMV (quant_gemv, n <= 8): baseline -> product\n");
  for (size_t i = 0; i + 1 < rows_out.size(); ++i) {
    const Row &b = rows_out[i], &p = rows_out[i + 1];
    if (b.kernel.rfind("gemv", 0) != 0 || b.variant != "baseline") continue;
    std::printf("%-5s %3d %-16s %9.4f (%5.2fx floor) -> %9.4f (%5.2fx floor)  %s\n", b.fmt.c_str(),
                b.n, b.kernel.c_str(), b.ms, b.ms / b.floor_ms, p.ms, p.ms / p.floor_ms,
                p.diff.str().c_str());
  }
  int fails = 0;
  for (const Row& r : rows_out) fails += r.variant != "baseline" && !r.diff.pass();
  std::printf("\n%d configurations FAIL the diff check\n", fails);
  for (void* p : std::initializer_list<void*>{c13, c2, s13, z13, s2, z2, x, h_base, h_v, o_base,
                                              o_v, d_off, d_act, d_perm, d_wts})
    cudaFree(p);
  return fails ? 1 : 0;
}

}  // namespace
}  // namespace mvl::cuda::sweep

int main(int argc, char** argv) {
  try {
    return mvl::cuda::sweep::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quant_moe_sweep: %s\n", e.what());
    return 1;
  }
}
