// Pillow-exact resampling on uint8 images (spec §3.7, §8.1 pitfall 12): Image.resize with
// BICUBIC (a = -0.5, antialiased support when downscaling, 22-bit fixed-point weights,
// two passes through a uint8 intermediate, in Pillow's pass order), NEAREST as Pillow does it
// for palette images, and the premultiplied-alpha round trip Pillow uses for RGBA.
// Written from the algorithm description in spec §3.7 and checked against Pillow by
// tests/vision/preprocess_golden_test.cpp; no Pillow source is copied.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mvl::vision {

// Which Pillow's two-pass order to reproduce (the user-facing option is --resize-compat).
// Pillow 13 (python-pillow/Pillow#9549) runs the vertical pass first when the height shrinks by
// more than twice as many pixels as the width (out_h < in_h and in_h - out_h > 2 * (in_w -
// out_w)); every earlier release always ran the horizontal pass first. The two orders round
// the uint8 intermediate differently, so tall images get different pixels.
enum class PillowPassOrder {
  classic,   // Pillow <= 12: what MiniMax trained and released VL-01 with (2024); the default
  pillow13,  // Pillow >= 13 (2026): what a current Pillow install computes
};

// "classic" | "pillow13" <-> the enum; parse throws Error{invalid_argument} for other names.
const char* pass_order_name(PillowPassOrder order);
PillowPassOrder parse_pass_order(const std::string& name);

// How many threads a resize may use. Each pass writes its output rows in contiguous blocks,
// one block per thread; an output row reads only source rows and sums integers, so the bytes
// are the same for every thread count and split (pillow_resample_threads_test: 1, 2, 3, 7).
struct ResampleThreads {
  // 0: the CPU kernels' pool size (cpu::hardware_threads()); 1: the calling thread only.
  int64_t max_threads = 0;
  // Multiply-adds each thread must get, else fewer threads: a small image stays on one thread
  // rather than pay tens of microseconds per thread start. 0 splits any image (tests).
  int64_t min_work = int64_t{1} << 18;
};

// An output size, width x height.
struct ResizeSize {
  int64_t width = 0, height = 0;
};

// Resizes an interleaved u8 buffer (u8 [h, w, channels], channels 1..4) to out_w x out_h as
// Pillow's Image.resize(..., BICUBIC) does for 8-bit modes; every channel independently.
// Returns u8 [out_h, out_w, channels]. Equal sizes return a copy.
std::vector<uint8_t> resize_bicubic_u8(const uint8_t* src, int64_t w, int64_t h, int channels,
                                       int64_t out_w, int64_t out_h,
                                       PillowPassOrder order = PillowPassOrder::classic,
                                       const ResampleThreads& threads = {});

// Several resizes of one source at once, each output the bytes resize_bicubic_u8 makes for its
// size: every target's first pass runs in one parallel sweep, then every second pass in
// another, so the smaller resize (a thumbnail) shares the threads and the two barriers of the
// larger one instead of adding its own. Returns the outputs in the order of `sizes`.
std::vector<std::vector<uint8_t>> resize_bicubic_u8(const uint8_t* src, int64_t w, int64_t h, int channels,
                                                    const std::vector<ResizeSize>& sizes,
                                                    PillowPassOrder order = PillowPassOrder::classic,
                                                    const ResampleThreads& threads = {});

// Pillow's NEAREST resize (the scale-only affine transform with a double accumulator).
std::vector<uint8_t> resize_nearest_u8(const uint8_t* src, int64_t w, int64_t h, int channels,
                                       int64_t out_w, int64_t out_h);

// Pillow's RGBA -> RGBa (premultiply) and RGBa -> RGBA (unpremultiply) conversions, in place
// on u8 [n, 4] pixels.
void premultiply_alpha(uint8_t* rgba, int64_t n);
void unpremultiply_alpha(uint8_t* rgba, int64_t n);

}  // namespace mvl::vision
