// decode_image_file / decode_image_bytes: read the bytes ourselves (so size limits apply
// before any decoder runs), sniff and check the header, decode with OpenCV (stb_image for GIF
// and in builds without OpenCV), then normalise to 8-bit RGB + optional straight alpha.
#include <filesystem>
#include <fstream>
#include <system_error>

#include "kernels/core/error.h"
#include "vision/image/image.h"
#include "vision/image/stb_decode.h"

#ifdef MVL_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#endif

namespace mvl::vision {

namespace {

bool mode_has_alpha(const std::string& m) { return m == "RGBA" || m == "LA" || m == "PA"; }

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
void decode_opencv(Image& img, const std::vector<uint8_t>& bytes, const std::string& name,
                   const DecodeOptions& opts) {
  // IMREAD_UNCHANGED keeps alpha and 16-bit samples and ignores EXIF orientation (as PIL);
  // IMREAD_COLOR applies the EXIF orientation but drops alpha, used only when asked to rotate.
  const int flags = opts.apply_exif_orientation ? (cv::IMREAD_COLOR | cv::IMREAD_ANYDEPTH)
                                                : cv::IMREAD_UNCHANGED;
  cv::Mat m;
  try {
    const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data()));
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
  if (opts.apply_exif_orientation) {
    img.width = m.cols;  // a 90-degree orientation swaps the header's width and height
    img.height = m.rows;
  }
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
    throw Error(ErrorCategory::out_of_memory,
                fmt::format("image '{}': {}x{} ({:.0f} Mpixel) exceeds the {:.0f} Mpixel limit (decompression-bomb "
                            "guard); pass --max-image-pixels to raise it",
                            name, h.width, h.height, static_cast<double>(h.width) * h.height / 1e6,
                            static_cast<double>(opts.max_pixels) / 1e6));
  }
  if (h.format == "jpeg") {
    MVL_CHECK(jpeg_has_end_marker(bytes.data(), bytes.size()), bad_format,
              "image '{}': the JPEG data is truncated (no end-of-image marker)", name);
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
    decode_opencv(img, bytes, name, opts);
  }
#else
  decode_stb(img, bytes, name);
#endif
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

}  // namespace mvl::vision
