// synthetic_image.h: hash-drawn pages and scans, encoded with stb_image_write (static to this
// file, so another copy elsewhere in the program cannot clash).
#include "app/engine/inspect/synthetic_image.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "kernels/core/error.h"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#include "stb_image_write.h"
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace mvl::engine {
namespace {

uint64_t mix(uint64_t z) {  // splitmix64's finaliser: a counter-based hash
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t hash3(uint64_t a, uint64_t b, uint64_t c) { return mix(a ^ mix(b ^ mix(c))); }

// Ink at (x, y) of a text block [x0, x1) with lines of height `line` every `pitch` rows:
// words of 3..10 glyph cells of 7 px with 7-px spaces, glyphs as 5x`line` dot patterns.
bool text_ink(int64_t x, int64_t y, int64_t x0, int64_t x1, int64_t pitch, int64_t line, uint64_t seed) {
  if (x < x0 || x >= x1) return false;
  const int64_t row = y / pitch, in_line = y % pitch;
  if (in_line >= line) return false;
  const int64_t cell = (x - x0) / 7, in_cell = (x - x0) % 7;
  if (in_cell >= 5) return false;
  // Word structure: a hash per (row, cell / 8) decides where spaces fall.
  const uint64_t w = hash3(seed, static_cast<uint64_t>(row), static_cast<uint64_t>(cell / 8));
  if (static_cast<int64_t>(w % 8) == cell % 8) return false;  // a space
  // Short last lines of paragraphs.
  if (hash3(seed + 1, static_cast<uint64_t>(row), 0) % 7 == 0 && (x - x0) > (x1 - x0) / 2) return false;
  const uint64_t g = hash3(seed + 2, static_cast<uint64_t>(row), static_cast<uint64_t>(cell));
  const int64_t gx = in_cell, gy = in_line * 5 / std::max<int64_t>(line, 1);
  return (g >> (gx * 5 + gy)) & 1;
}

}  // namespace

std::vector<uint8_t> synthetic_rgb(SyntheticKind kind, int64_t width, int64_t height, uint64_t seed) {
  MVL_CHECK(width >= 1 && height >= 1 && width <= 16384 && height <= 16384, invalid_argument,
            "synthetic image {}x{}: each side must be 1..16384 px", width, height);
  std::vector<uint8_t> rgb(static_cast<size_t>(width * height * 3));
  const int64_t margin = std::max<int64_t>(width / 14, 2);
  const int64_t pitch = std::max<int64_t>(height / 70, 6), line = std::max<int64_t>(pitch * 2 / 3, 3);
  const int64_t mid = width / 2, gutter = std::max<int64_t>(width / 40, 2);
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      uint8_t* px = &rgb[static_cast<size_t>((y * width + x) * 3)];
      const uint64_t h = hash3(seed, static_cast<uint64_t>(x), static_cast<uint64_t>(y));
      int v;
      if (kind == SyntheticKind::page) {
        // Two columns of text; a grey figure box in the upper right; a title band on top.
        const bool title = y >= margin && y < margin + 2 * pitch && x >= margin && x < width * 2 / 3;
        const bool figure = y >= height / 5 && y < height * 2 / 5 && x >= mid + gutter && x < width - margin;
        const bool body = y >= margin + 3 * pitch && y < height - margin;
        bool ink = false;
        if (title) ink = text_ink(x, y - margin, margin, width * 2 / 3, 2 * pitch, 2 * line, seed + 7);
        else if (figure) ink = ((x / 9 + y / 9) % 5 == 0);
        else if (body) ink = text_ink(x, y, margin, mid - gutter, pitch, line, seed) ||
                             text_ink(x, y, mid + gutter, width - margin, pitch, line, seed + 3);
        v = figure && !ink ? 200 : (ink ? 20 : 255);
        px[0] = px[1] = px[2] = static_cast<uint8_t>(v);
        if (figure && !ink) px[2] = 230;  // a bluish figure
      } else {
        // Off-white paper with grain, text lines tilted by one row per 64 columns, faded ink.
        const int64_t ty = y + x / 64;
        const bool ink = y >= margin && y < height - margin && text_ink(x, ty, margin, width - margin, pitch, line, seed);
        const int grain = static_cast<int>(h % 17) - 8;
        v = ink ? 60 + static_cast<int>((h >> 8) % 40) : 236 + grain;
        px[0] = static_cast<uint8_t>(std::clamp(v + 4, 0, 255));
        px[1] = static_cast<uint8_t>(std::clamp(v + 2, 0, 255));
        px[2] = static_cast<uint8_t>(std::clamp(v - 6, 0, 255));
      }
    }
  }
  return rgb;
}

uint64_t write_synthetic_png(const std::string& path, SyntheticKind kind, int64_t width, int64_t height,
                             uint64_t seed) {
  const std::vector<uint8_t> rgb = synthetic_rgb(kind, width, height, seed);
  std::vector<uint8_t> png;
  png.reserve(rgb.size() / 4);
  const int ok = stbi_write_png_to_func(
      [](void* ctx, void* data, int size) {
        auto* out = static_cast<std::vector<uint8_t>*>(ctx);
        out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
      },
      &png, static_cast<int>(width), static_cast<int>(height), 3, rgb.data(), static_cast<int>(width * 3));
  MVL_CHECK(ok != 0 && !png.empty(), internal, "could not encode a {}x{} PNG", width, height);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  MVL_CHECK(f != nullptr, io, "cannot write '{}'", path);
  MVL_CHECK(std::fwrite(png.data(), 1, png.size(), f.get()) == png.size(), io, "short write to '{}'", path);
  return png.size();
}

}  // namespace mvl::engine
