// Fuzzes image decoding from bytes (format sniffing, header parsing, the pixel-cap check
// before allocation, OpenCV/stb decoding, EXIF orientation). The input is the file content.
// A small pixel cap keeps each run fast; the cap check itself is part of what is tested.
#include <cstdio>
#include <cstdlib>

#include "kernels/core/error.h"
#include "tests/fuzz/fuzz_util.h"
#include "vision/image/image.h"

using namespace mvl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::vector<uint8_t> bytes(data + 1, data + size);
  vision::DecodeOptions opts;
  opts.max_pixels = 1 << 20;
  opts.apply_exif_orientation = (data[0] & 1) != 0;
  MVL_FUZZ_EXPECT_ERRORS_ONLY(
      { (void)vision::read_image_header(bytes.data(), bytes.size(), "x"); });
  MVL_FUZZ_EXPECT_ERRORS_ONLY({
    const vision::Image im = vision::decode_image_bytes(bytes, "x", opts);
    if (im.width < 1 || im.height < 1 || im.width * im.height > opts.max_pixels) std::abort();
    if (im.rgb.size() != static_cast<size_t>(im.width * im.height * 3)) std::abort();
    if (im.has_alpha() && im.alpha.size() != static_cast<size_t>(im.width * im.height))
      std::abort();
  });
  return 0;
}
