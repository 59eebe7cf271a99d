// decode_image_file / decode_image_bytes: read the bytes ourselves (so size limits apply
// before any decoder runs), sniff and check the header, decode with OpenCV (stb_image for GIF
// and in builds without OpenCV), then normalise to 8-bit RGB + optional straight alpha.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "kernels/core/error.h"
#include "vision/image/exif.h"
#include "vision/image/image.h"
#include "vision/image/quiet_stderr.h"
#include "vision/image/stb_decode.h"

#ifdef MVL_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#endif

namespace mvl::vision {

namespace {

bool mode_has_alpha(const std::string& m) { return m == "RGBA" || m == "LA" || m == "PA"; }

// Every Huffman table (DHT segment, before or between scans) must declare at most 256 codes
// and fit in its segment. libjpeg rejects such a table itself, but stb_image (the decoder of
// builds without OpenCV) writes past its arrays on one, so hostile files are refused here.
bool jpeg_huffman_tables_ok(const uint8_t* d, size_t n) {
  size_t o = 2;
  while (o + 4 <= n) {
    if (d[o] != 0xFF) return true;  // not at a marker: leave the rest to the decoder
    while (o < n && d[o] == 0xFF) ++o;
    if (o >= n) return true;
    const uint8_t m = d[o++];
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;
    if (m == 0xD9 || o + 2 > n) return true;
    const size_t len = (static_cast<size_t>(d[o]) << 8) | d[o + 1];
    if (len < 2 || o + len > n) return true;  // truncation is reported by the end-marker check
    if (m == 0xC4) {
      size_t t = o + 2;
      while (t < o + len) {
        if (t + 17 > o + len) return false;
        size_t codes = 0;
        for (int i = 1; i <= 16; ++i) codes += d[t + i];
        if (codes > 256 || t + 17 + codes > o + len) return false;
        t += 17 + codes;
      }
    }
    o += len;
    if (m == 0xDA) {  // skip the entropy-coded data up to the next real marker
      while (o + 1 < n && !(d[o] == 0xFF && d[o + 1] != 0x00 && !(d[o + 1] >= 0xD0 && d[o + 1] <= 0xD7))) ++o;
    }
  }
  return true;
}

// The decoders accept a JPEG whose entropy-coded data stops early (libjpeg pads it with grey
// and warns); Pillow refuses it ("image file is truncated"), and so do we: after walking the
// segments up to the first scan, an end-of-image marker must follow.
bool jpeg_has_end_marker(const uint8_t* d, size_t n) {
  size_t o = 2;
  while (o + 4 <= n) {
    if (d[o] != 0xFF) return false;
    while (o < n && d[o] == 0xFF) ++o;
    if (o >= n) return false;
    const uint8_t m = d[o++];
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;
    if (m == 0xD9) return false;  // EOI before any scan
    if (o + 2 > n) return false;
    const size_t len = (static_cast<size_t>(d[o]) << 8) | d[o + 1];
    if (m == 0xDA) {  // start of scan: entropy data never contains FF D9 (FF is stuffed)
      for (size_t i = o + len; i + 1 < n; ++i) {
        if (d[i] == 0xFF && d[i + 1] == 0xD9) return true;
      }
      return false;
    }
    o += len;
  }
  return false;
}

// PNG's CRC-32 (polynomial 0xEDB88320), eight bytes a step through eight 256-entry tables made
// at compile time ("slicing by 8"). Bit by bit it cost 35 ms on a 3.2 MB scan (a third of
// `preprocess`, more than the PNG decode itself); this is about 1 byte a cycle.
struct Crc32Tables {
  uint32_t t[8][256];
};
constexpr Crc32Tables make_crc32_tables() {
  Crc32Tables x{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    x.t[0][i] = c;
  }
  for (int s = 1; s < 8; ++s)
    for (uint32_t i = 0; i < 256; ++i) x.t[s][i] = (x.t[s - 1][i] >> 8) ^ x.t[0][x.t[s - 1][i] & 0xFFu];
  return x;
}
constexpr Crc32Tables kCrc32 = make_crc32_tables();

uint32_t crc32(const uint8_t* d, size_t n) {
  const auto& t = kCrc32.t;
  uint32_t c = 0xFFFFFFFFu;
  for (; n >= 8; d += 8, n -= 8) {
    const uint32_t lo = c ^ (uint32_t{d[0]} | uint32_t{d[1]} << 8 | uint32_t{d[2]} << 16 | uint32_t{d[3]} << 24);
    const uint32_t hi = uint32_t{d[4]} | uint32_t{d[5]} << 8 | uint32_t{d[6]} << 16 | uint32_t{d[7]} << 24;
    c = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^ t[3][hi & 0xFFu] ^
        t[2][(hi >> 8) & 0xFFu] ^ t[1][(hi >> 16) & 0xFFu] ^ t[0][hi >> 24];
  }
  for (; n > 0; ++d, --n) c = t[0][(c ^ *d) & 0xFFu] ^ (c >> 8);
  return ~c;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Walks the PNG chunks: every length in range, every CRC right, IDAT present, IEND reached.
// Catches truncated and corrupted files with our own one-line message before libpng (which
// would print its own diagnostics to stderr) sees them.
void check_png_structure(const uint8_t* d, size_t n, const std::string& name) {
  size_t o = 8;
  bool idat = false;
  for (;;) {
    MVL_CHECK(o + 12 <= n, bad_format, "image '{}': the PNG is truncated (no IEND chunk)", name);
    const uint32_t len = be32(d + o);
    MVL_CHECK(len <= n - o - 12, bad_format, "image '{}': the PNG is truncated (a {}-byte chunk runs past the end)",
              name, len);
    const uint8_t* type = d + o + 4;
    MVL_CHECK(crc32(type, len + 4) == be32(d + o + 8 + len), bad_format,
              "image '{}': corrupt PNG (CRC mismatch in chunk '{}')", name,
              std::string(reinterpret_cast<const char*>(type), 4));
    if (std::memcmp(type, "IDAT", 4) == 0) idat = true;
    if (std::memcmp(type, "IEND", 4) == 0) break;
    o += 12 + len;
  }
  MVL_CHECK(idat, bad_format, "image '{}': the PNG has no image data (no IDAT chunk)", name);
}

// Walks a GIF up to the end of its first image's data; stb would hand back a partly
// decoded frame for a truncated file, Pillow refuses it.
void check_gif_first_frame(const uint8_t* d, size_t n, const std::string& name) {
  auto need = [&](size_t o) {
    MVL_CHECK(o < n, bad_format, "image '{}': the GIF is truncated before its first frame ends", name);
  };
  size_t o = 13;
  need(10);
  if (d[10] & 0x80) o += 3u << ((d[10] & 7) + 1);  // global colour table
  auto skip_sub_blocks = [&]() {
    for (;;) {
      need(o);
      const size_t len = d[o++];
      if (len == 0) return;
      o += len;
    }
  };
  for (;;) {
    need(o);
    const uint8_t b = d[o++];
    if (b == 0x21) {  // extension: label + sub-blocks
      need(o);
      ++o;
      skip_sub_blocks();
    } else if (b == 0x2C) {  // image descriptor
      need(o + 8);
      const uint8_t flags = d[o + 8];
      o += 9;
      if (flags & 0x80) o += 3u << ((flags & 7) + 1);  // local colour table
      need(o);
      ++o;  // LZW minimum code size
      skip_sub_blocks();
      return;
    } else {
      throw Error(ErrorCategory::bad_format,
                  fmt::format("image '{}': corrupt GIF (unexpected block 0x{:02X} before the first frame)", name, b));
    }
  }
}

uint32_t le32(const uint8_t* p) {
  return (uint32_t{p[3]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[1]} << 8) | p[0];
}

// Uncompressed BMPs must hold all their rows (OpenCV reports a short file on stderr only).
void check_bmp_size(const uint8_t* d, size_t n, const ImageHeader& h, const std::string& name) {
  if (n < 34 || le32(d + 14) < 40) return;  // OS/2 headers: left to the decoder
  const uint32_t compression = le32(d + 30);
  if (compression != 0 && compression != 3) return;  // RLE sizes are data dependent
  const uint64_t bpp = d[28] | (d[29] << 8);
  const uint64_t row = ((static_cast<uint64_t>(h.width) * bpp + 31) / 32) * 4;
  const uint64_t need = uint64_t{le32(d + 10)} + row * static_cast<uint64_t>(h.height);
  MVL_CHECK(need <= n, bad_format, "image '{}': the BMP is truncated ({} bytes, its header needs {})", name, n, need);
}

// Every TIFF strip/tile must lie inside the file (libtiff reports short reads on stderr only).
void check_tiff_extents(const uint8_t* d, size_t n, const std::string& name) {
  const bool le = d[0] == 'I';
  auto u16 = [&](size_t o) -> uint32_t { return le ? (d[o] | (d[o + 1] << 8)) : ((d[o] << 8) | d[o + 1]); };
  auto u32 = [&](size_t o) -> uint32_t { return le ? le32(d + o) : be32(d + o); };
  const size_t ifd = u32(4);
  if (ifd + 2 > n) return;  // read_image_header already refused this
  const uint32_t count = u16(ifd);
  auto values = [&](size_t e) {  // the SHORT/LONG array of an IFD entry
    std::vector<uint64_t> v;
    const uint32_t type = u16(e + 2), cnt = u32(e + 4);
    const size_t sz = type == 3 ? 2 : 4;
    MVL_CHECK(cnt <= n, bad_format, "image '{}': corrupt TIFF (an array of {} entries)", name, cnt);
    size_t at = e + 8;
    if (static_cast<uint64_t>(cnt) * sz > 4) at = u32(e + 8);
    MVL_CHECK(at <= n && static_cast<uint64_t>(cnt) * sz <= n - at, bad_format,
              "image '{}': the TIFF is truncated (a directory array lies past the end)", name);
    for (uint32_t i = 0; i < cnt; ++i) v.push_back(sz == 2 ? u16(at + i * 2) : u32(at + i * 4));
    return v;
  };
  std::vector<uint64_t> offsets, sizes;
  for (uint32_t i = 0; i < count && ifd + 2 + 12 * (i + 1) <= n; ++i) {
    const size_t e = ifd + 2 + 12 * static_cast<size_t>(i);
    const uint32_t tag = u16(e);
    if (tag == 273 || tag == 324) offsets = values(e);
    if (tag == 279 || tag == 325) sizes = values(e);
  }
  for (size_t i = 0; i < offsets.size() && i < sizes.size(); ++i) {
    MVL_CHECK(offsets[i] <= n && sizes[i] <= n - offsets[i], bad_format,
              "image '{}': the TIFF is truncated (strip {} ends at byte {} of {})", name, i, offsets[i] + sizes[i], n);
  }
}

// Fills img.rgb/alpha from interleaved 8-bit pixels in the given channel order.
void fill_from_interleaved(Image& img, const uint8_t* px, int channels, bool bgr) {
  const size_t n = static_cast<size_t>(img.width * img.height);
  img.rgb.resize(n * 3);
  const bool keep_alpha = (channels == 2 || channels == 4) && mode_has_alpha(img.source_mode);
  if (keep_alpha) img.alpha.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = px + i * static_cast<size_t>(channels);
    uint8_t* o = &img.rgb[i * 3];
    if (channels <= 2) {
      o[0] = o[1] = o[2] = p[0];
    } else if (bgr) {
      o[0] = p[2]; o[1] = p[1]; o[2] = p[0];
    } else {
      o[0] = p[0]; o[1] = p[1]; o[2] = p[2];
    }
    if (keep_alpha) img.alpha[i] = p[channels - 1];
  }
}

#ifdef MVL_HAVE_OPENCV
// cv::imdecode hands the bytes to the first decoder whose signature matches, and the one we
// mean can decline a file our header parser accepted (libwebp checks more). Debian's OpenCV
// also links the DICOM (GDCM) and GDAL readers, whose signatures sit past the start ("DICM" at
// byte 128, "DTED" at 140), so they then claim it, and GDCM aborts the whole process on a
// malformed file (an assert in libgdcmDSED; found by fuzz_image: a WebP with "DICM" at 128).
// We decode neither format, so such bytes are refused before OpenCV sees them.
void check_no_foreign_signature(const std::vector<uint8_t>& b, const std::string& name,
                                const std::string& format) {
  struct Sig {
    size_t at;
    const char* magic;
    const char* what;
  };
  for (const Sig& s : {Sig{128, "DICM", "DICOM"}, Sig{140, "DTED", "DTED elevation"}}) {
    MVL_CHECK(b.size() < s.at + 4 || std::memcmp(b.data() + s.at, s.magic, 4) != 0, bad_format,
              "image '{}': not a plain {} file (it carries a {} signature at byte {}); re-save it "
              "as PNG or JPEG",
              name, format, s.what, s.at);
  }
}

void decode_opencv(Image& img, const std::vector<uint8_t>& bytes, const std::string& name) {
  check_no_foreign_signature(bytes, name, img.format);
  // IMREAD_UNCHANGED keeps alpha and 16-bit samples and never applies EXIF orientation (PIL
  // does not either); the opt-in rotation is done by exif.cpp for every decoder alike.
  const int flags = cv::IMREAD_UNCHANGED;
  // A corrupt file must surface as our one-line error, not as OpenCV warning spew on stderr.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  cv::Mat m;
  try {
    const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data()));
    // libjpeg/libpng print their warnings and errors to fd 2 themselves; keep them off it.
    const QuietStderr quiet;
    m = cv::imdecode(buf, flags);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCategory::bad_format, fmt::format("image '{}': cannot decode {} ({})", name, img.format, e.err));
  }
  MVL_CHECK(!m.empty(), bad_format, "image '{}': cannot decode the {} data (corrupt or truncated file)", name, img.format);
  if (m.depth() == CV_16U) {
    // Keep the high byte of each 16-bit sample (libpng's and Pillow's 16 -> 8 bit reduction).
    cv::Mat m8(m.rows, m.cols, CV_MAKETYPE(CV_8U, m.channels()));
    for (int y = 0; y < m.rows; ++y) {
      const uint16_t* s = m.ptr<uint16_t>(y);
      uint8_t* d = m8.ptr<uint8_t>(y);
      for (int i = 0; i < m.cols * m.channels(); ++i) d[i] = static_cast<uint8_t>(s[i] >> 8);
    }
    m = m8;
  }
  MVL_CHECK(m.depth() == CV_8U, unsupported, "image '{}': {} samples of OpenCV depth {} are not supported (8 or 16 bit expected)",
            name, img.format, m.depth());
  MVL_CHECK(m.cols == img.width && m.rows == img.height, bad_format,
            "image '{}': decoded {}x{} pixels but the header says {}x{}", name, m.cols, m.rows, img.width, img.height);
  if (!m.isContinuous()) m = m.clone();
  fill_from_interleaved(img, m.ptr<uint8_t>(0), m.channels(), /*bgr=*/true);
}
#endif

void decode_stb(Image& img, const std::vector<uint8_t>& bytes, const std::string& name) {
  detail::RawPixels r = detail::stb_decode(bytes.data(), bytes.size(), name);
  MVL_CHECK(r.width == img.width && r.height == img.height, bad_format,
            "image '{}': decoded {}x{} pixels but the header says {}x{}", name, r.width, r.height, img.width, img.height);
  fill_from_interleaved(img, r.data.data(), r.channels, /*bgr=*/false);
}

}  // namespace

Image decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name, const DecodeOptions& opts) {
  MVL_CHECK(opts.max_pixels > 0, invalid_argument, "max image pixels must be positive, got {}", opts.max_pixels);
  const ImageHeader h = read_image_header(bytes.data(), bytes.size(), name);
  // Overflow-free check: width and height each fit 32 bits here.
  if (h.width > opts.max_pixels / h.height) {
    auto pixels = [](double n) {
      return n >= 1e6 ? fmt::format("{:.0f} Mpixel", n / 1e6) : fmt::format("{:.0f} pixel", n);
    };
    throw Error(
        ErrorCategory::out_of_memory,
        fmt::format("image '{}': {}x{} ({}) exceeds the {} limit (decompression-bomb guard); "
                    "downscale the image if you trust it",
                    name, h.width, h.height,
                    pixels(static_cast<double>(h.width) * static_cast<double>(h.height)),
                    pixels(static_cast<double>(opts.max_pixels))));
  }
  if (h.format == "png") check_png_structure(bytes.data(), bytes.size(), name);
  if (h.format == "gif") check_gif_first_frame(bytes.data(), bytes.size(), name);
  if (h.format == "bmp") check_bmp_size(bytes.data(), bytes.size(), h, name);
  if (h.format == "tiff") check_tiff_extents(bytes.data(), bytes.size(), name);
  if (h.format == "jpeg") {
    MVL_CHECK(jpeg_has_end_marker(bytes.data(), bytes.size()), bad_format,
              "image '{}': the JPEG data is truncated (no end-of-image marker)", name);
    MVL_CHECK(jpeg_huffman_tables_ok(bytes.data(), bytes.size()), bad_format,
              "image '{}': corrupt JPEG (a Huffman table declares more than 256 codes or overruns its segment)",
              name);
  }
  Image img;
  img.width = h.width;
  img.height = h.height;
  img.format = h.format;
  img.source_mode = h.source_mode;
#ifdef MVL_HAVE_OPENCV
  if (h.format == "gif") {
    decode_stb(img, bytes, name);  // OpenCV 4.6 has no GIF decoder
  } else {
    decode_opencv(img, bytes, name);
  }
#else
  MVL_CHECK(h.format != "webp" && h.format != "tiff", unsupported,
            "image '{}': {} images need a build with OpenCV (this one decodes with stb_image: PNG, JPEG, GIF, BMP)",
            name, h.format);
  decode_stb(img, bytes, name);
#endif
  if (opts.apply_exif_orientation) {
    detail::apply_exif_orientation(img, detail::read_exif_orientation(bytes.data(), bytes.size(), img.format));
  }
  if (img.source_mode == "P" || img.source_mode == "1") {
    img.rule = ResampleRule::nearest;
  } else if (img.has_alpha()) {
    img.rule = ResampleRule::bicubic_premultiplied;
  } else {
    img.rule = ResampleRule::bicubic;
  }
  return img;
}

Image decode_image_file(const std::string& path, const DecodeOptions& opts) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  MVL_CHECK(!ec && fs::exists(st), not_found, "image '{}': no such file", path);
  MVL_CHECK(!fs::is_directory(st), invalid_argument, "image '{}': is a directory, not an image file", path);
  MVL_CHECK(fs::is_regular_file(st), invalid_argument, "image '{}': not a regular file", path);
  const uintmax_t size = fs::file_size(path, ec);
  MVL_CHECK(!ec, io, "image '{}': cannot read its size ({})", path, ec.message());
  MVL_CHECK(size > 0, bad_format, "image '{}': the file is empty", path);
  MVL_CHECK(size <= static_cast<uintmax_t>(opts.max_file_bytes), out_of_memory,
            "image '{}': {} bytes exceeds the {} byte file limit", path, size, opts.max_file_bytes);
  std::ifstream f(path, std::ios::binary);
  MVL_CHECK(f.good(), io, "image '{}': cannot open it for reading", path);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  MVL_CHECK(f.gcount() == static_cast<std::streamsize>(size), io, "image '{}': short read", path);
  return decode_image_bytes(bytes, path, opts);
}

bool jpeg_decode_matches_pillow() {
#ifdef MVL_HAVE_OPENCV
  return true;
#else
  return false;
#endif
}

}  // namespace mvl::vision
