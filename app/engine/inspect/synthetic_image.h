// Deterministic test images for `bench --path vl` (vl_bench.h), so the image question needs no
// asset: a "page" (white paper, black lines of word-like blocks in a two-column layout, a grey
// figure box) and a "scan" (off-white paper with grain and a slight tilt of the text lines).
// Pixels come from a counter-based hash of (x, y, seed), so every platform draws the same image;
// they are written as 8-bit RGB PNG (stb_image_write, zlib-compressed), which the engine then
// decodes like any user's file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mvl::engine {

enum class SyntheticKind { page, scan };

// Interleaved 8-bit RGB, width * height * 3 bytes, row-major.
std::vector<uint8_t> synthetic_rgb(SyntheticKind kind, int64_t width, int64_t height, uint64_t seed = 1);

// Writes the image to path as PNG. Throws Error{io} when the file cannot be written and
// Error{invalid_argument} for sizes outside 1..16384 per side. Returns the file's bytes.
uint64_t write_synthetic_png(const std::string& path, SyntheticKind kind, int64_t width, int64_t height,
                             uint64_t seed = 1);

}  // namespace mvl::engine
