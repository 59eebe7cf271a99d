// Image thumbnails for the desktop chat: a decoded image (engine::DecodedImage) shrunk by area
// averaging to fit a square box, as straight RGBA bytes ready for a GL texture upload on
// the UI thread. Pure C++ (no GL here), so it is tested without a display.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "app/engine/loading/image_file.h"

namespace mvl::desktop {

struct Thumbnail {
  int width = 0, height = 0;
  std::vector<uint8_t> rgba;  // u8 [height, width, 4], straight alpha (255 when the image has none)
};

// Shrinks `img` so its longer side is at most `max_side` (never enlarges; aspect kept, each
// side at least 1 px). Every output pixel is the mean of the source pixels it covers.
Thumbnail make_thumbnail(const engine::DecodedImage& img, int max_side);

// Decodes `path` (engine::decode_image_file) and shrinks it. Throws Error like the decoder.
std::shared_ptr<const Thumbnail> load_thumbnail(const std::string& path, int max_side);

}  // namespace mvl::desktop
