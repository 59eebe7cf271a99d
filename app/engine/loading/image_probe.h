// What a front end may learn about an image file before handing it to the engine: its
// format and size from the header alone (no pixels decoded), so a server can enforce its own
// pixel and format limits on untrusted uploads. Thread-safe; wraps vision::read_image_header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mvl::engine {

struct ImageProbe {
  std::string format;  // "png", "jpeg", "gif", "bmp", "webp", "tiff"
  int64_t width = 0, height = 0;
};

// Throws Error{bad_format} (one line naming `name`) for unknown, truncated or inconsistent headers.
ImageProbe probe_image(const uint8_t* data, size_t size, const std::string& name);

}  // namespace mvl::engine
