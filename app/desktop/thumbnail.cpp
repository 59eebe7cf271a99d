// Area-averaging downscale of decoded images to thumbnails (see thumbnail.h).
#include "app/desktop/thumbnail.h"

#include <algorithm>

#include "kernels/core/error.h"

namespace mvl::desktop {

Thumbnail make_thumbnail(const engine::DecodedImage& img, int max_side) {
  MVL_CHECK(img.width > 0 && img.height > 0, invalid_argument, "thumbnail of an empty image");
  MVL_CHECK(max_side > 0, invalid_argument, "thumbnail size must be positive, got {}", max_side);
  const int64_t longer = std::max(img.width, img.height);
  const double scale = longer > max_side ? static_cast<double>(max_side) / longer : 1.0;
  Thumbnail t;
  t.width = static_cast<int>(std::max<int64_t>(1, static_cast<int64_t>(img.width * scale + 0.5)));
  t.height = static_cast<int>(std::max<int64_t>(1, static_cast<int64_t>(img.height * scale + 0.5)));
  t.rgba.resize(static_cast<size_t>(t.width) * t.height * 4);
  const bool alpha = img.has_alpha();
  for (int oy = 0; oy < t.height; ++oy) {
    // Source rows [y0, y1) map onto output row oy (at least one row each).
    const int64_t y0 = oy * img.height / t.height;
    const int64_t y1 = std::max(y0 + 1, (oy + 1) * img.height / t.height);
    for (int ox = 0; ox < t.width; ++ox) {
      const int64_t x0 = ox * img.width / t.width;
      const int64_t x1 = std::max(x0 + 1, (ox + 1) * img.width / t.width);
      uint64_t sum[4] = {0, 0, 0, 0};
      for (int64_t y = y0; y < y1; ++y) {
        for (int64_t x = x0; x < x1; ++x) {
          const size_t p = static_cast<size_t>(y * img.width + x);
          for (int c = 0; c < 3; ++c) sum[c] += img.rgb[p * 3 + c];
          sum[3] += alpha ? img.alpha[p] : 255;
        }
      }
      const uint64_t n = static_cast<uint64_t>((y1 - y0) * (x1 - x0));
      uint8_t* out = &t.rgba[(static_cast<size_t>(oy) * t.width + ox) * 4];
      for (int c = 0; c < 4; ++c) out[c] = static_cast<uint8_t>((sum[c] + n / 2) / n);
    }
  }
  return t;
}

std::shared_ptr<const Thumbnail> load_thumbnail(const std::string& path, int max_side) {
  const engine::DecodedImage img = engine::decode_image_file(path);
  return std::make_shared<const Thumbnail>(make_thumbnail(img, max_side));
}

}  // namespace mvl::desktop
