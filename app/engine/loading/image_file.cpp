// decode_image_file: the engine's window onto vision::decode_image_file for front ends.
#include "app/engine/loading/image_file.h"

#include <utility>

#include "vision/image/image.h"

namespace mvl::engine {

DecodedImage decode_image_file(const std::string& path) {
  vision::Image img = vision::decode_image_file(path);
  DecodedImage d;
  d.width = img.width;
  d.height = img.height;
  d.rgb = std::move(img.rgb);
  d.alpha = std::move(img.alpha);
  return d;
}

}  // namespace mvl::engine
