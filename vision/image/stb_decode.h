// stb_image decoding: the GIF decoder (OpenCV 4.6 has none) and the whole fallback when the
// build has no OpenCV. Internal to vision/image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mvl::vision::detail {

struct RawPixels {
  int64_t width = 0, height = 0;
  int channels = 0;           // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (stb's order, 8 bits)
  std::vector<uint8_t> data;  // u8 [height, width, channels]
};

// Decodes the first frame with stb_image. Throws Error{bad_format} naming `name`.
RawPixels stb_decode(const uint8_t* data, size_t size, const std::string& name);

}  // namespace mvl::vision::detail
