// EXIF orientation reading and application (see exif.h). Every read is bounds-checked; any
// inconsistency means "no orientation" rather than an error.
#include "vision/image/exif.h"

#include <cstring>
#include <vector>

namespace mvl::vision::detail {

namespace {

// Orientation from a TIFF structure (an EXIF block is one): IFD0 tag 0x0112, SHORT.
int tiff_orientation(const uint8_t* d, size_t n) {
  if (n < 8) return 1;
  const bool le = d[0] == 'I' && d[1] == 'I';
  if (!le && !(d[0] == 'M' && d[1] == 'M')) return 1;
  auto u16 = [&](size_t o) -> uint32_t { return le ? (d[o] | (d[o + 1] << 8)) : ((d[o] << 8) | d[o + 1]); };
  auto u32 = [&](size_t o) -> uint32_t {
    return le ? (d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (uint32_t{d[o + 3]} << 24))
              : ((uint32_t{d[o]} << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]);
  };
  if (u16(2) != 42) return 1;
  const size_t ifd = u32(4);
  if (ifd > n || n - ifd < 2) return 1;
  const uint32_t count = u16(ifd);
  for (uint32_t i = 0; i < count; ++i) {
    const size_t e = ifd + 2 + 12 * static_cast<size_t>(i);
    if (e > n || n - e < 12) return 1;
    if (u16(e) == 0x0112 && u16(e + 2) == 3) {
      const uint32_t v = u16(e + 8);
      return v >= 1 && v <= 8 ? static_cast<int>(v) : 1;
    }
  }
  return 1;
}

int exif_block_orientation(const uint8_t* d, size_t n) {
  if (n >= 6 && std::memcmp(d, "Exif\0\0", 6) == 0) {
    d += 6;
    n -= 6;
  }
  return tiff_orientation(d, n);
}

int jpeg_orientation(const uint8_t* d, size_t n) {
  size_t o = 2;
  while (o + 4 <= n && d[o] == 0xFF) {
    const uint8_t m = d[o + 1];
    if (m == 0xDA || m == 0xD9) break;  // image data: no more metadata segments
    const size_t len = (static_cast<size_t>(d[o + 2]) << 8) | d[o + 3];
    if (len < 2 || o + 2 + len > n) break;
    if (m == 0xE1) {
      const int r = exif_block_orientation(d + o + 4, len - 2);
      if (r != 1) return r;
    }
    o += 2 + len;
  }
  return 1;
}

int png_orientation(const uint8_t* d, size_t n) {
  size_t o = 8;
  while (o + 12 <= n) {
    const size_t len = (static_cast<size_t>(d[o]) << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3];
    if (len > n - o - 12) break;
    if (std::memcmp(d + o + 4, "eXIf", 4) == 0) return exif_block_orientation(d + o + 8, len);
    if (std::memcmp(d + o + 4, "IDAT", 4) == 0) break;  // EXIF after the image data is ignored, as PIL's open does
    o += 12 + len;
  }
  return 1;
}

int webp_orientation(const uint8_t* d, size_t n) {
  size_t o = 12;
  while (o + 8 <= n) {
    const size_t len = d[o + 4] | (d[o + 5] << 8) | (d[o + 6] << 16) | (static_cast<size_t>(d[o + 7]) << 24);
    if (len > n - o - 8) break;
    if (std::memcmp(d + o, "EXIF", 4) == 0) return exif_block_orientation(d + o + 8, len);
    o += 8 + len + (len & 1);
  }
  return 1;
}

}  // namespace

int read_exif_orientation(const uint8_t* data, size_t size, const std::string& format) {
  if (format == "jpeg") return jpeg_orientation(data, size);
  if (format == "png") return png_orientation(data, size);
  if (format == "webp") return webp_orientation(data, size);
  if (format == "tiff") return tiff_orientation(data, size);
  return 1;
}

void apply_exif_orientation(Image& img, int orientation) {
  if (orientation <= 1 || orientation > 8) return;
  const int64_t w = img.width, h = img.height;
  const bool swap = orientation >= 5;
  const int64_t ow = swap ? h : w, oh = swap ? w : h;
  // Source pixel for output (x, y), per the transposes PIL's exif_transpose uses.
  auto src = [&](int64_t x, int64_t y) -> int64_t {
    switch (orientation) {
      case 2: return y * w + (w - 1 - x);            // mirror left-right
      case 3: return (h - 1 - y) * w + (w - 1 - x);  // rotate 180
      case 4: return (h - 1 - y) * w + x;            // mirror top-bottom
      case 5: return x * w + y;                      // transpose
      case 6: return (h - 1 - x) * w + y;            // rotate 90 clockwise
      case 7: return (h - 1 - x) * w + (w - 1 - y);  // transverse
      default: return x * w + (w - 1 - y);           // 8: rotate 90 counter-clockwise
    }
  };
  std::vector<uint8_t> rgb(img.rgb.size()), alpha(img.alpha.size());
  for (int64_t y = 0; y < oh; ++y) {
    for (int64_t x = 0; x < ow; ++x) {
      const int64_t s = src(x, y), d = y * ow + x;
      std::memcpy(&rgb[static_cast<size_t>(d * 3)], &img.rgb[static_cast<size_t>(s * 3)], 3);
      if (!alpha.empty()) alpha[static_cast<size_t>(d)] = img.alpha[static_cast<size_t>(s)];
    }
  }
  img.rgb = std::move(rgb);
  img.alpha = std::move(alpha);
  img.width = ow;
  img.height = oh;
}

}  // namespace mvl::vision::detail
