// Decoded pixels for front ends that show an image themselves (the desktop's thumbnails):
// the file decoded exactly as the vision tower's input is (same decoder, size caps and error
// messages), as plain 8-bit RGB (+ alpha) rows. Thread-safe; wraps vision::decode_image_file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mvl::engine {

struct DecodedImage {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> rgb;    // u8 [height, width, 3], straight (not premultiplied) colour
  std::vector<uint8_t> alpha;  // u8 [height, width], empty when the image has no alpha
  bool has_alpha() const { return !alpha.empty(); }
};

// Reads and decodes `path`. Throws Error (one line naming the file) for missing, unreadable,
// corrupt or oversized images.
DecodedImage decode_image_file(const std::string& path);

}  // namespace mvl::engine
