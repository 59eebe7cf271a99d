// stb_image decoding (see stb_decode.h). STB_IMAGE_STATIC keeps every stb symbol private to
// this file so another part of the program may embed its own copy without clashes.
#include "vision/image/stb_decode.h"

#include <climits>
#include <cstring>

#include "kernels/core/error.h"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "stb_image.h"
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace mvl::vision::detail {

RawPixels stb_decode(const uint8_t* data, size_t size, const std::string& name) {
  MVL_CHECK(size <= static_cast<size_t>(INT_MAX), bad_format, "image '{}': file too large for the stb decoder", name);
  int w = 0, h = 0, comp = 0;
  stbi_uc* px = stbi_load_from_memory(data, static_cast<int>(size), &w, &h, &comp, 0);
  if (!px) {
    const char* why = stbi_failure_reason();
    throw Error(ErrorCategory::bad_format,
                fmt::format("image '{}': cannot decode ({})", name, why ? why : "corrupt or truncated data"));
  }
  RawPixels r;
  r.width = w;
  r.height = h;
  r.channels = comp;
  const size_t n = static_cast<size_t>(w) * static_cast<size_t>(h) * static_cast<size_t>(comp);
  try {
    r.data.assign(px, px + n);
  } catch (...) {
    stbi_image_free(px);
    throw;
  }
  stbi_image_free(px);
  return r;
}

}  // namespace mvl::vision::detail
