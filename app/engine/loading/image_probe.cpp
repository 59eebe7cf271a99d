// probe_image: the engine's window onto vision::read_image_header for front ends.
#include "app/engine/loading/image_probe.h"

#include "vision/image/image.h"

namespace mvl::engine {

ImageProbe probe_image(const uint8_t* data, size_t size, const std::string& name) {
  const vision::ImageHeader h = vision::read_image_header(data, size, name);
  return ImageProbe{h.format, h.width, h.height};
}

}  // namespace mvl::engine
