// Pillow-exact uint8 resampling (see pillow_resample.h). The floating-point expressions keep
// Pillow's evaluation order (the filter polynomial, the window bounds, the tap positions),
// because the 22-bit weights are rounded from them and one flipped rounding changes a byte.
// mvl_vision compiles with -ffp-contract=off so no FMA reorders them.
#include "vision/preprocess/pillow_resample.h"

#include <algorithm>
#include <cmath>

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

// One horizontal pass: rows [0, rows) of `in` (row stride w*C) -> u8 [rows, out_w, C].
std::vector<uint8_t> horizontal_pass(const uint8_t* in, int64_t w, int64_t rows, int64_t C, const Taps& t,
                                     int64_t out_w) {
  std::vector<uint8_t> out(static_cast<size_t>(rows * out_w * C));
  cpu::parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const uint8_t* in_row = in + r * w * C;
      uint8_t* out_row = out.data() + r * out_w * C;
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
  });
  return out;
}

// One vertical pass: `in` holds source rows starting at source row `row0` (row stride w*C);
// output row y reads source rows t.first[y] .. + t.count[y]. Returns u8 [out_h, w, C].
// Each output row sums its source rows whole, one after another (streaming, vectorisable);
// integer sums are exact in any order, so this is the per-pixel sum's result, bit for bit.
std::vector<uint8_t> vertical_pass(const uint8_t* in, int64_t w, int64_t row0, int64_t C, const Taps& t,
                                   int64_t out_h) {
  std::vector<uint8_t> out(static_cast<size_t>(out_h * w * C));
  const int64_t wc = w * C;
  cpu::parallel_for(out_h, 16, [&](int64_t y0, int64_t y1) {
    std::vector<int64_t> acc(static_cast<size_t>(wc));
    for (int64_t y = y0; y < y1; ++y) {
      const int32_t* k = &t.weight[static_cast<size_t>(y * t.ksize)];
      const int64_t first = t.first[static_cast<size_t>(y)] - row0;
      const int64_t n = t.count[static_cast<size_t>(y)];
      std::fill(acc.begin(), acc.end(), int64_t{1} << (kPrecisionBits - 1));
      for (int64_t j = 0; j < n; ++j) {
        const uint8_t* src = in + (first + j) * wc;
        const int64_t kj = k[j];
        int64_t* a = acc.data();
        for (int64_t i = 0; i < wc; ++i) a[i] += static_cast<int64_t>(src[i]) * kj;
      }
      uint8_t* out_row = out.data() + y * wc;
      for (int64_t i = 0; i < wc; ++i) out_row[i] = clip8(acc[static_cast<size_t>(i)]);
    }
  });
  return out;
}

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
                                       int64_t out_w, int64_t out_h, PillowPassOrder order) {
  MVL_CHECK(channels >= 1 && channels <= 4, invalid_argument, "resize: {} channels", channels);
  MVL_CHECK(w >= 1 && h >= 1 && out_w >= 1 && out_h >= 1, invalid_argument,
            "resize {}x{} -> {}x{}: sizes must be positive", w, h, out_w, out_h);
  const int64_t C = channels;
  const bool need_h = out_w != w, need_v = out_h != h;
  if (!need_h && !need_v) return std::vector<uint8_t>(src, src + w * h * C);
  if (!need_h) return vertical_pass(src, w, 0, C, bicubic_taps(h, out_h), out_h);
  if (!need_v) return horizontal_pass(src, w, h, C, bicubic_taps(w, out_w), out_w);

  const Taps ht = bicubic_taps(w, out_w);
  const Taps vt = bicubic_taps(h, out_h);
  const bool vertical_first =
      order == PillowPassOrder::pillow13 && out_h < h && (h - out_h) > 2 * (w - out_w);
  if (vertical_first) {
    const std::vector<uint8_t> tmp = vertical_pass(src, w, 0, C, vt, out_h);  // u8 [out_h, w, C]
    return horizontal_pass(tmp.data(), w, out_h, C, ht, out_w);
  }
  // Horizontal first, only over the source rows the vertical pass will read.
  const int64_t row_first = vt.first[0];
  const int64_t row_last = vt.first[static_cast<size_t>(out_h - 1)] + vt.count[static_cast<size_t>(out_h - 1)];
  const std::vector<uint8_t> tmp = horizontal_pass(src + row_first * w * C, w, row_last - row_first, C, ht, out_w);
  return vertical_pass(tmp.data(), out_w, row_first, C, vt, out_h);
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
