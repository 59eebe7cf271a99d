// Pillow-exact uint8 resampling (see pillow_resample.h). The floating-point expressions keep
// Pillow's evaluation order (the filter polynomial, the window bounds, the tap positions),
// because the 22-bit weights are rounded from them and one flipped rounding changes a byte.
// mvl_vision compiles with -ffp-contract=off so no FMA reorders them.
#include "vision/preprocess/pillow_resample.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>

#include "kernels/core/error.h"
#include "kernels/cpu/parallel.h"

namespace mvl::vision {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // 22 fractional bits, 2 bits headroom

// Keys' cubic convolution kernel with a = -0.5, in Pillow's operation order.
double bicubic_kernel(double x) {
  const double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// Fixed-point taps of one 1-D pass: output o reads in[first[o] .. first[o] + count[o]).
struct Taps {
  int64_t ksize = 0;
  std::vector<int64_t> first, count;
  std::vector<int32_t> weight;  // [out, ksize], 2^22 == 1.0
};

Taps bicubic_taps(int64_t in_size, int64_t out_size) {
  // Pillow passes the source box as float, so the span is (float)in_size.
  const double span = static_cast<double>(static_cast<float>(in_size));
  const double scale = span / static_cast<double>(out_size);
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = 2.0 * filterscale;
  Taps t;
  t.ksize = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  t.first.resize(out_size);
  t.count.resize(out_size);
  t.weight.assign(static_cast<size_t>(out_size * t.ksize), 0);
  std::vector<double> k(static_cast<size_t>(t.ksize));
  const double ss = 1.0 / filterscale;
  for (int64_t o = 0; o < out_size; ++o) {
    const double center = 0.0 + (static_cast<double>(o) + 0.5) * scale;
    int64_t xmin = static_cast<int64_t>(center - support + 0.5);  // truncation toward zero
    if (xmin < 0) xmin = 0;
    int64_t xmax = static_cast<int64_t>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double sum = 0.0;
    for (int64_t x = 0; x < xmax; ++x) {
      const double pos = static_cast<double>(x + xmin) - center + 0.5;
      const double w = bicubic_kernel(pos * ss);
      k[static_cast<size_t>(x)] = w;
      sum += w;
    }
    int32_t* out = &t.weight[static_cast<size_t>(o * t.ksize)];
    for (int64_t x = 0; x < xmax; ++x) {
      double w = k[static_cast<size_t>(x)];
      if (sum != 0.0) w /= sum;
      // Round half away from zero into 22-bit fixed point.
      const double scaled = w * static_cast<double>(1 << kPrecisionBits);
      out[x] = w < 0 ? static_cast<int32_t>(-0.5 + scaled) : static_cast<int32_t>(0.5 + scaled);
    }
    // The vertical pass sums in int32 as Pillow does (its 2 bits of headroom), 2x the lanes of
    // int64 sums: 2^21 + 255 * sum|w| must fit. Bicubic weights keep sum|w| near 1.08 * 2^22 at
    // every size; checked, not assumed. (The horizontal pass keeps int64: faster there.)
    int64_t abs_sum = 0;
    for (int64_t x = 0; x < xmax; ++x) abs_sum += out[x] < 0 ? -int64_t{out[x]} : int64_t{out[x]};
    MVL_CHECK((int64_t{1} << (kPrecisionBits - 1)) + 255 * abs_sum <= int64_t{INT32_MAX}, internal,
              "resize {} -> {}: output {} has weights summing to {} in absolute value, past int32 sums", in_size,
              out_size, o, abs_sum);
    t.first[static_cast<size_t>(o)] = xmin;
    t.count[static_cast<size_t>(o)] = xmax;
  }
  return t;
}

inline uint8_t clip8(int64_t acc) {
  const int64_t v = acc >> kPrecisionBits;  // arithmetic shift, as Pillow's int >> does
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// One output pixel of the horizontal pass, all C channels in one sweep over the taps (each
// weight and source pixel read once). Integer sums are exact in any order, so the result is the
// channel-by-channel sum's, bit for bit.
template <int C>
inline void h_pixel(const uint8_t* p, const int32_t* k, int64_t n, uint8_t* out) {
  int64_t acc[C];
  for (int c = 0; c < C; ++c) acc[c] = int64_t{1} << (kPrecisionBits - 1);
  for (int64_t x = 0; x < n; ++x)
    for (int c = 0; c < C; ++c) acc[c] += static_cast<int64_t>(p[x * C + c]) * k[x];
  for (int c = 0; c < C; ++c) out[c] = clip8(acc[c]);
}

// Rows [r0, r1) of one horizontal pass: in row r (stride w*C) -> out row r (stride out_w*C).
void horizontal_rows(const uint8_t* in, int64_t w, int64_t C, const Taps& t, int64_t out_w, uint8_t* out,
                     int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* in_row = in + r * w * C;
    uint8_t* out_row = out + r * out_w * C;
    for (int64_t o = 0; o < out_w; ++o) {
      const int32_t* k = &t.weight[static_cast<size_t>(o * t.ksize)];
      const uint8_t* p = in_row + t.first[static_cast<size_t>(o)] * C;
      const int64_t n = t.count[static_cast<size_t>(o)];
      switch (C) {
        case 1: h_pixel<1>(p, k, n, out_row + o); break;
        case 2: h_pixel<2>(p, k, n, out_row + o * 2); break;
        case 3: h_pixel<3>(p, k, n, out_row + o * 3); break;
        default: h_pixel<4>(p, k, n, out_row + o * 4); break;
      }
    }
  }
}

// Rows [y0, y1) of one vertical pass: `in` holds source rows starting at source row `row0`
// (row stride wc = w*C); output row y reads source rows t.first[y] .. + t.count[y].
// Each output row sums its source rows whole, one after another (streaming, vectorisable);
// integer sums are exact in any order, so this is the per-pixel sum's result, bit for bit.
void vertical_rows(const uint8_t* in, int64_t wc, int64_t row0, const Taps& t, uint8_t* out, int64_t y0,
                   int64_t y1) {
  std::vector<int32_t> acc(static_cast<size_t>(wc));
  for (int64_t y = y0; y < y1; ++y) {
    const int32_t* k = &t.weight[static_cast<size_t>(y * t.ksize)];
    const int64_t first = t.first[static_cast<size_t>(y)] - row0;
    const int64_t n = t.count[static_cast<size_t>(y)];
    std::fill(acc.begin(), acc.end(), int32_t{1} << (kPrecisionBits - 1));
    for (int64_t j = 0; j < n; ++j) {
      const uint8_t* src = in + (first + j) * wc;
      const int32_t kj = k[j];
      int32_t* a = acc.data();
      for (int64_t i = 0; i < wc; ++i) a[i] += static_cast<int32_t>(src[i]) * kj;
    }
    uint8_t* out_row = out + y * wc;
    for (int64_t i = 0; i < wc; ++i) out_row[i] = clip8(acc[static_cast<size_t>(i)]);
  }
}

// One pass of one target: `rows` output rows, `work` multiply-adds each (for the split), and
// the function that writes rows [r0, r1).
struct PassJob {
  int64_t rows = 0;
  int64_t work = 1;
  std::function<void(int64_t, int64_t)> run;
};

// Writes every job's rows in one parallel sweep: the jobs' rows one after another form one
// range, cut into contiguous blocks of about equal work, one block per thread.
void run_pass(const std::vector<PassJob>& jobs, const ResampleThreads& th) {
  auto work_of = [](const PassJob& j) { return std::max<int64_t>(1, j.work); };
  int64_t total_rows = 0, total_work = 0;
  for (const PassJob& j : jobs) {
    total_rows += j.rows;
    total_work += j.rows * work_of(j);
  }
  if (total_rows == 0) return;
  auto run_rows = [&](int64_t g0, int64_t g1) {  // rows [g0, g1) of the joined range
    int64_t base = 0;
    for (const PassJob& j : jobs) {
      const int64_t b = std::max(g0, base), e = std::min(g1, base + j.rows);
      if (b < e) j.run(b - base, e - base);
      base += j.rows;
    }
  };
  const int64_t pool = th.max_threads >= 1 ? th.max_threads : cpu::hardware_threads();
  const int64_t by_work = th.min_work > 0 ? total_work / th.min_work : total_rows;
  const int64_t blocks = std::clamp<int64_t>(std::min(pool, by_work), 1, total_rows);
  if (blocks == 1) {
    run_rows(0, total_rows);
    return;
  }
  // Block c starts at the first row where the work before it reaches c/blocks of the total.
  std::vector<int64_t> start(static_cast<size_t>(blocks + 1), total_rows);
  for (int64_t c = 0; c < blocks; ++c) {
    const int64_t goal = total_work / blocks * c + total_work % blocks * c / blocks;  // floor(W*c/blocks)
    int64_t rows_before = 0, work_before = 0;
    for (const PassJob& j : jobs) {
      const int64_t wj = work_of(j);
      if (goal <= work_before + j.rows * wj) {
        start[static_cast<size_t>(c)] = rows_before + (goal - work_before + wj - 1) / wj;
        break;
      }
      rows_before += j.rows;
      work_before += j.rows * wj;
    }
  }
  cpu::parallel_for(blocks, 1, blocks, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) run_rows(start[static_cast<size_t>(c)], start[static_cast<size_t>(c + 1)]);
  });
}

// u8 scratch that is not zero-filled: the pass that writes it first touches its pages on the
// threads that fill them.
using Scratch = std::unique_ptr<uint8_t[]>;
Scratch scratch(int64_t n) { return Scratch(new uint8_t[static_cast<size_t>(n)]); }

}  // namespace

const char* pass_order_name(PillowPassOrder order) {
  return order == PillowPassOrder::classic ? "classic" : "pillow13";
}

PillowPassOrder parse_pass_order(const std::string& name) {
  if (name == "classic") return PillowPassOrder::classic;
  if (name == "pillow13") return PillowPassOrder::pillow13;
  throw Error(ErrorCategory::invalid_argument,
              "resize compatibility '" + name + "' is not one of classic (Pillow <= 12), pillow13");
}

std::vector<uint8_t> resize_bicubic_u8(const uint8_t* src, int64_t w, int64_t h, int channels,
                                       int64_t out_w, int64_t out_h, PillowPassOrder order,
                                       const ResampleThreads& threads) {
  return std::move(resize_bicubic_u8(src, w, h, channels, {ResizeSize{out_w, out_h}}, order, threads)[0]);
}

std::vector<std::vector<uint8_t>> resize_bicubic_u8(const uint8_t* src, int64_t w, int64_t h, int channels,
                                                    const std::vector<ResizeSize>& sizes, PillowPassOrder order,
                                                    const ResampleThreads& threads) {
  MVL_CHECK(channels >= 1 && channels <= 4, invalid_argument, "resize: {} channels", channels);
  for (const ResizeSize& s : sizes) {
    MVL_CHECK(w >= 1 && h >= 1 && s.width >= 1 && s.height >= 1, invalid_argument,
              "resize {}x{} -> {}x{}: sizes must be positive", w, h, s.width, s.height);
  }
  const int64_t C = channels;
  // Per target: its taps, the intermediate between its passes, and its output. Sized once, so
  // the jobs below can hold references into it.
  struct Target {
    Taps ht, vt;
    Scratch tmp;
    std::vector<uint8_t> out;
  };
  std::vector<Target> targets(sizes.size());
  std::vector<PassJob> first, second;  // the first passes of every target, then the second
  for (size_t i = 0; i < sizes.size(); ++i) {
    const int64_t out_w = sizes[i].width, out_h = sizes[i].height;
    Target& g = targets[i];
    const bool need_h = out_w != w, need_v = out_h != h;
    if (!need_h && !need_v) {
      g.out.assign(src, src + w * h * C);
      continue;
    }
    g.out.resize(static_cast<size_t>(out_w * out_h * C));
    uint8_t* out = g.out.data();
    if (need_h) g.ht = bicubic_taps(w, out_w);
    if (need_v) g.vt = bicubic_taps(h, out_h);
    const Taps& ht = g.ht;
    const Taps& vt = g.vt;
    const int64_t h_work = out_w * ht.ksize * C, v_work = vt.ksize * C;  // v_work per source-row pixel
    if (!need_h) {
      first.push_back({out_h, w * v_work, [=, &vt](int64_t a, int64_t b) { vertical_rows(src, w * C, 0, vt, out, a, b); }});
    } else if (!need_v) {
      first.push_back({h, h_work, [=, &ht](int64_t a, int64_t b) { horizontal_rows(src, w, C, ht, out_w, out, a, b); }});
    } else if (order == PillowPassOrder::pillow13 && out_h < h && (h - out_h) > 2 * (w - out_w)) {
      // Pillow 13's vertical-first order: u8 [out_h, w, C] between the passes.
      g.tmp = scratch(out_h * w * C);
      uint8_t* tmp = g.tmp.get();
      first.push_back({out_h, w * v_work, [=, &vt](int64_t a, int64_t b) { vertical_rows(src, w * C, 0, vt, tmp, a, b); }});
      second.push_back({out_h, h_work, [=, &ht](int64_t a, int64_t b) { horizontal_rows(tmp, w, C, ht, out_w, out, a, b); }});
    } else {
      // Horizontal first, only over the source rows the vertical pass will read.
      const int64_t row_first = vt.first[0];
      const int64_t row_last = vt.first[static_cast<size_t>(out_h - 1)] + vt.count[static_cast<size_t>(out_h - 1)];
      g.tmp = scratch((row_last - row_first) * out_w * C);
      uint8_t* tmp = g.tmp.get();
      const uint8_t* in = src + row_first * w * C;
      first.push_back({row_last - row_first, h_work,
                       [=, &ht](int64_t a, int64_t b) { horizontal_rows(in, w, C, ht, out_w, tmp, a, b); }});
      second.push_back({out_h, out_w * v_work,
                        [=, &vt](int64_t a, int64_t b) { vertical_rows(tmp, out_w * C, row_first, vt, out, a, b); }});
    }
  }
  run_pass(first, threads);
  run_pass(second, threads);
  std::vector<std::vector<uint8_t>> outs;
  outs.reserve(targets.size());
  for (Target& g : targets) outs.push_back(std::move(g.out));
  return outs;
}

std::vector<uint8_t> resize_nearest_u8(const uint8_t* src, int64_t w, int64_t h, int channels,
                                       int64_t out_w, int64_t out_h) {
  MVL_CHECK(channels >= 1 && channels <= 4, invalid_argument, "resize: {} channels", channels);
  MVL_CHECK(w >= 1 && h >= 1 && out_w >= 1 && out_h >= 1, invalid_argument,
            "resize {}x{} -> {}x{}: sizes must be positive", w, h, out_w, out_h);
  const int64_t C = channels;
  if (w == out_w && h == out_h) return std::vector<uint8_t>(src, src + w * h * C);
  // Pillow maps output pixel x to source floor(a/2 + x*a) with a = in/out, accumulated by
  // repeated double addition (not multiplication); out-of-range positions stay black.
  auto table = [](int64_t in, int64_t out) {
    const double a = static_cast<double>(static_cast<float>(in)) / static_cast<double>(out);
    std::vector<int64_t> idx(static_cast<size_t>(out));
    double pos = 0.0 + a * 0.5;
    for (int64_t o = 0; o < out; ++o) {
      const int64_t i = pos < 0.0 ? -1 : static_cast<int64_t>(pos);
      idx[static_cast<size_t>(o)] = (i >= 0 && i < in) ? i : -1;
      pos += a;
    }
    return idx;
  };
  const std::vector<int64_t> xs = table(w, out_w), ys = table(h, out_h);
  std::vector<uint8_t> out(static_cast<size_t>(out_w * out_h * C), 0);
  for (int64_t y = 0; y < out_h; ++y) {
    const int64_t sy = ys[static_cast<size_t>(y)];
    if (sy < 0) continue;
    for (int64_t x = 0; x < out_w; ++x) {
      const int64_t sx = xs[static_cast<size_t>(x)];
      if (sx < 0) continue;
      for (int64_t c = 0; c < C; ++c) out[(y * out_w + x) * C + c] = src[(sy * w + sx) * C + c];
    }
  }
  return out;
}

void premultiply_alpha(uint8_t* rgba, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint8_t* p = rgba + 4 * i;
    const int a = p[3];
    for (int c = 0; c < 3; ++c) {
      const int t = p[c] * a + 128;  // x * a / 255, rounded, without a division
      p[c] = static_cast<uint8_t>(((t >> 8) + t) >> 8);
    }
  }
}

void unpremultiply_alpha(uint8_t* rgba, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint8_t* p = rgba + 4 * i;
    const int a = p[3];
    if (a == 0 || a == 255) continue;
    for (int c = 0; c < 3; ++c) p[c] = static_cast<uint8_t>(std::min(255, 255 * p[c] / a));
  }
}

}  // namespace mvl::vision
