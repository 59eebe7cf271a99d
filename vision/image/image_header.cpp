// Header sniffing for the formats decode_image accepts (PNG, JPEG, GIF, BMP, WebP, TIFF):
// magic bytes -> format, then width/height/mode straight from the header so the pixel cap is
// enforced before a decoder allocates anything. Every read is bounds-checked: hostile files
// must produce one-line errors, never out-of-range reads.
#include <cstring>

#include "kernels/core/error.h"
#include "vision/image/image.h"

namespace mvl::vision {

namespace {

// A bounds-checked little/big-endian reader over the file bytes.
class Reader {
 public:
  Reader(const uint8_t* d, size_t n, const std::string& name, const char* fmt)
      : d_(d), n_(n), name_(name), fmt_(fmt) {}
  void need(size_t off, size_t len) const {
    MVL_CHECK(off <= n_ && len <= n_ - off, bad_format,
              "image '{}': truncated {} header (file has {} bytes)", name_, fmt_, n_);
  }
  uint32_t u8(size_t o) const { need(o, 1); return d_[o]; }
  uint32_t le16(size_t o) const { need(o, 2); return d_[o] | (d_[o + 1] << 8); }
  uint32_t be16(size_t o) const { need(o, 2); return (d_[o] << 8) | d_[o + 1]; }
  uint32_t le24(size_t o) const { need(o, 3); return d_[o] | (d_[o + 1] << 8) | (d_[o + 2] << 16); }
  uint32_t le32(size_t o) const { need(o, 4); return le16(o) | (le16(o + 2) << 16); }
  uint32_t be32(size_t o) const { need(o, 4); return (be16(o) << 16) | be16(o + 2); }
  bool has(size_t o, const char* s) const {
    const size_t len = std::strlen(s);
    return o <= n_ && len <= n_ - o && std::memcmp(d_ + o, s, len) == 0;
  }
  size_t size() const { return n_; }

 private:
  const uint8_t* d_;
  size_t n_;
  const std::string& name_;
  const char* fmt_;
};

ImageHeader png_header(const Reader& r, const std::string& name) {
  r.need(0, 33);  // signature + IHDR chunk with its CRC
  MVL_CHECK(r.has(12, "IHDR"), bad_format, "image '{}': PNG does not start with an IHDR chunk", name);
  ImageHeader h{"png", r.be32(16), r.be32(20), ""};
  const uint32_t depth = r.u8(24), type = r.u8(25);
  switch (type) {
    case 0: h.source_mode = depth == 1 ? "1" : (depth == 16 ? "I;16" : "L"); break;
    case 2: h.source_mode = "RGB"; break;
    case 3: h.source_mode = "P"; break;
    case 4: h.source_mode = "LA"; break;
    case 6: h.source_mode = "RGBA"; break;
    default:
      throw Error(ErrorCategory::bad_format,
                  fmt::format("image '{}': PNG colour type {} is invalid", name, type));
  }
  return h;
}

bool is_sof(uint32_t m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

ImageHeader jpeg_header(const Reader& r, const std::string& name) {
  size_t o = 2;
  for (;;) {
    MVL_CHECK(r.u8(o) == 0xFF, bad_format, "image '{}': corrupt JPEG (no marker at byte {})", name, o);
    while (r.u8(o) == 0xFF) ++o;  // fill bytes
    const uint32_t m = r.u8(o);
    ++o;
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length field
    MVL_CHECK(m != 0xD9 && m != 0xDA, bad_format, "image '{}': JPEG has no frame header before its data", name);
    const uint32_t len = r.be16(o);
    MVL_CHECK(len >= 2, bad_format, "image '{}': corrupt JPEG segment length {}", name, len);
    if (is_sof(m)) {
      ImageHeader h{"jpeg", r.be16(o + 5), r.be16(o + 3), ""};
      const uint32_t comps = r.u8(o + 7);
      h.source_mode = comps == 1 ? "L" : comps == 3 ? "RGB" : comps == 4 ? "CMYK" : "";
      MVL_CHECK(!h.source_mode.empty(), bad_format, "image '{}': JPEG with {} colour components is not supported", name, comps);
      return h;
    }
    o += len;
  }
}

ImageHeader bmp_header(const Reader& r, const std::string& name) {
  const uint32_t dib = r.le32(14);
  ImageHeader h{"bmp", 0, 0, "RGB"};
  uint32_t bpp = 0;
  if (dib == 12) {
    h.width = r.le16(18);
    h.height = r.le16(20);
    bpp = r.le16(24);
  } else {
    MVL_CHECK(dib >= 40, bad_format, "image '{}': BMP info header of {} bytes is not supported", name, dib);
    h.width = static_cast<int32_t>(r.le32(18));
    const int32_t hh = static_cast<int32_t>(r.le32(22));
    MVL_CHECK(hh != INT32_MIN, bad_format, "image '{}': BMP height is invalid", name);
    h.height = hh < 0 ? -static_cast<int64_t>(hh) : hh;  // negative height = top-down rows
    bpp = r.le16(28);
  }
  MVL_CHECK(h.width >= 0, bad_format, "image '{}': BMP width {} is negative", name, h.width);
  if (bpp == 1) h.source_mode = "1";
  else if (bpp <= 8) h.source_mode = "P";
  return h;
}

ImageHeader webp_header(const Reader& r, const std::string& name) {
  ImageHeader h{"webp", 0, 0, "RGB"};
  if (r.has(12, "VP8 ")) {
    MVL_CHECK(r.u8(23) == 0x9D && r.u8(24) == 0x01 && r.u8(25) == 0x2A, bad_format,
              "image '{}': corrupt WebP (VP8 start code missing)", name);
    h.width = r.le16(26) & 0x3FFF;
    h.height = r.le16(28) & 0x3FFF;
  } else if (r.has(12, "VP8L")) {
    MVL_CHECK(r.u8(20) == 0x2F, bad_format, "image '{}': corrupt WebP (VP8L signature missing)", name);
    const uint32_t bits = r.le32(21);
    h.width = (bits & 0x3FFF) + 1;
    h.height = ((bits >> 14) & 0x3FFF) + 1;
    if ((bits >> 28) & 1) h.source_mode = "RGBA";
  } else if (r.has(12, "VP8X")) {
    if (r.u8(20) & 0x10) h.source_mode = "RGBA";
    h.width = int64_t{r.le24(24)} + 1;
    h.height = int64_t{r.le24(27)} + 1;
  } else {
    throw Error(ErrorCategory::bad_format, fmt::format("image '{}': unknown WebP chunk layout", name));
  }
  return h;
}

ImageHeader tiff_header(const Reader& r, const std::string& name) {
  const bool le = r.has(0, "II");
  auto u16 = [&](size_t o) { return le ? r.le16(o) : r.be16(o); };
  auto u32 = [&](size_t o) { return le ? r.le32(o) : r.be32(o); };
  MVL_CHECK(u16(2) == 42, bad_format, "image '{}': BigTIFF or corrupt TIFF is not supported", name);
  const size_t ifd = u32(4);
  const uint32_t count = u16(ifd);
  MVL_CHECK(count > 0 && count < 4096, bad_format, "image '{}': corrupt TIFF directory ({} entries)", name, count);
  ImageHeader h{"tiff", -1, -1, ""};
  uint32_t photometric = 99, spp = 1, bits = 8;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t e = ifd + 2 + 12 * static_cast<size_t>(i);
    const uint32_t tag = u16(e), type = u16(e + 2);
    const uint32_t value = type == 3 ? u16(e + 8) : u32(e + 8);  // SHORT or LONG inline
    if (tag == 256) h.width = value;
    else if (tag == 257) h.height = value;
    else if (tag == 258 && u32(e + 4) == 1) bits = value;
    else if (tag == 258) bits = 8;  // per-sample list stored elsewhere; assume 8
    else if (tag == 262) photometric = value;
    else if (tag == 277) spp = value;
  }
  MVL_CHECK(h.width >= 0 && h.height >= 0, bad_format, "image '{}': TIFF has no ImageWidth/ImageLength", name);
  switch (photometric) {
    case 0: case 1:
      h.source_mode = spp >= 2 ? "LA" : bits == 1 ? "1" : bits == 16 ? "I;16" : "L";
      break;
    case 2: h.source_mode = spp >= 4 ? "RGBA" : "RGB"; break;
    case 3: h.source_mode = "P"; break;
    case 5: h.source_mode = "CMYK"; break;
    default: h.source_mode = "RGB"; break;  // YCbCr, LAB...: the decoder converts to RGB
  }
  return h;
}

}  // namespace

ImageHeader read_image_header(const uint8_t* data, size_t size, const std::string& name) {
  MVL_CHECK(size > 0, bad_format, "image '{}': the file is empty", name);
  static constexpr uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  ImageHeader h;
  if (size >= 8 && std::memcmp(data, kPng, 8) == 0) {
    h = png_header(Reader(data, size, name, "PNG"), name);
  } else if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
    h = jpeg_header(Reader(data, size, name, "JPEG"), name);
  } else if (size >= 6 && (std::memcmp(data, "GIF87a", 6) == 0 || std::memcmp(data, "GIF89a", 6) == 0)) {
    Reader r(data, size, name, "GIF");
    h = ImageHeader{"gif", r.le16(6), r.le16(8), "P"};
  } else if (size >= 2 && data[0] == 'B' && data[1] == 'M') {
    h = bmp_header(Reader(data, size, name, "BMP"), name);
  } else if (size >= 12 && std::memcmp(data, "RIFF", 4) == 0 && std::memcmp(data + 8, "WEBP", 4) == 0) {
    h = webp_header(Reader(data, size, name, "WebP"), name);
  } else if (size >= 4 && (std::memcmp(data, "II*\0", 4) == 0 || std::memcmp(data, "MM\0*", 4) == 0 ||
                           std::memcmp(data, "II+\0", 4) == 0 || std::memcmp(data, "MM\0+", 4) == 0)) {
    h = tiff_header(Reader(data, size, name, "TIFF"), name);
  } else {
    throw Error(ErrorCategory::bad_format,
                fmt::format("image '{}': not a supported image (PNG, JPEG, GIF, BMP, WebP or TIFF expected; "
                            "the content is checked, not the extension)", name));
  }
  MVL_CHECK(h.width > 0 && h.height > 0, bad_format, "image '{}': {} header says the image is {}x{} pixels",
            name, h.format, h.width, h.height);
  return h;
}

}  // namespace mvl::vision
