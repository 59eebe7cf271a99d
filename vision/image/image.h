// Decoded images and decoding (spec §3.2): bytes -> 8-bit RGB (+ straight alpha) through
// OpenCV (stb_image for GIF, and for everything when built without OpenCV), with the size
// checked from the file header BEFORE any pixel buffer is allocated.
//
// Choices (documented here because they are behaviour):
//  * Format is sniffed from the content (magic bytes), never from the file extension.
//  * Pixel cap: default 178,956,970 pixels = 2 x Pillow's MAX_IMAGE_PIXELS, the size at
//    which Pillow itself refuses an image as a decompression bomb. Configurable.
//  * EXIF orientation is NOT applied by default: the reference opens images with PIL, which
//    does not auto-rotate (spec §3.2, §9.13). DecodeOptions::apply_exif_orientation = true
//    rotates/flips JPEG/PNG/WebP/TIFF images per their EXIF tag exactly as PIL's
//    ImageOps.exif_transpose does (alpha kept; same in OpenCV and stb builds).
//  * Alpha: kept beside the RGB so preprocessing can resize in premultiplied alpha as Pillow
//    does for RGBA/LA images before dropping alpha (PIL's convert('RGB') drops it unblended).
//  * Palette (PNG colour type 3, GIF): flagged so preprocessing resizes with NEAREST, which
//    Pillow silently uses for mode "P".
//  * Grayscale is expanded to RGB (identical results: Pillow resizes channels independently).
//  * 16-bit samples keep their high byte (what Pillow does for 16-bit RGB PNGs; for 16-bit
//    grayscale Pillow's mode "I;16" clips instead, which this runtime does not imitate).
//  * Without OpenCV (stb_image only): PNG, JPEG, GIF, BMP; stb's JPEG decoder is not libjpeg,
//    so JPEG pixels can differ from Pillow's by a few LSB there.
//  * CMYK (JPEG/TIFF) is converted to RGB at decode time by the decoder; the reference
//    resizes in CMYK and converts afterwards, so such images can differ by a few LSB.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mvl::vision {

// Pillow refuses images above 2 * MAX_IMAGE_PIXELS (89,478,485) as decompression bombs.
inline constexpr int64_t kDefaultMaxImagePixels = 178956970;
// Files larger than this are refused before reading (a sanity bound, not a pixel limit).
inline constexpr int64_t kDefaultMaxImageFileBytes = int64_t{1} << 30;

// How Pillow would resize the image in its original mode (spec §3.2).
enum class ResampleRule {
  bicubic,                // RGB, L, CMYK-converted: plain BICUBIC per channel
  bicubic_premultiplied,  // RGBA, LA: BICUBIC on premultiplied alpha, then unpremultiply
  nearest,                // P (palette), 1-bit: Pillow switches to NEAREST
};

struct Image {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> rgb;    // u8 [height, width, 3], straight (not premultiplied) colour
  std::vector<uint8_t> alpha;  // u8 [height, width], empty when the image has no alpha
  ResampleRule rule = ResampleRule::bicubic;
  std::string format;      // "png", "jpeg", "gif", "bmp", "webp", "tiff"
  std::string source_mode; // the PIL mode the file would open as: "RGB", "L", "RGBA", "LA", "P", "1", "CMYK", "I;16"...
  bool has_alpha() const { return !alpha.empty(); }
};

struct DecodeOptions {
  int64_t max_pixels = kDefaultMaxImagePixels;        // width * height cap (decompression bombs)
  int64_t max_file_bytes = kDefaultMaxImageFileBytes; // refuse larger files before reading
  bool apply_exif_orientation = false;                // the reference does not (spec §9.13)
};

// What the header says, read without decoding pixels.
struct ImageHeader {
  std::string format;      // as in Image::format
  int64_t width = 0, height = 0;
  std::string source_mode; // best guess of PIL's mode from the header ("" if unknown)
};

// Sniffs the format from magic bytes and reads the dimensions from the header. Throws
// Error{bad_format} (one line naming `name`) for unknown, truncated or inconsistent headers.
ImageHeader read_image_header(const uint8_t* data, size_t size, const std::string& name);

// Decodes an in-memory file. `name` is only used in error messages. Throws Error with one
// line for every failure: bad_format (corrupt/truncated/unsupported), out_of_memory (pixel
// cap, with the flag to raise it), invalid_argument (0-sized).
Image decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name,
                         const DecodeOptions& opts = {});

// Reads and decodes a file. Refuses directories, missing files, empty files, oversize files.
Image decode_image_file(const std::string& path, const DecodeOptions& opts = {});

// True when this build decodes JPEG with libjpeg (through OpenCV), as Pillow does, so decoded
// JPEG samples equal PIL's; false in a build without OpenCV, whose stb_image JPEG decoder
// (another IDCT and chroma upsampling) differs from PIL's by a few levels in some samples.
bool jpeg_decode_matches_pillow();

}  // namespace mvl::vision
