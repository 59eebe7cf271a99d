// Image decoding: every accepted format decodes to the same RGB as PIL's convert('RGB'),
// EXIF orientation is off by default and switchable, and hostile or broken files give a
// one-line Error (never a crash; this suite also runs under ASan/UBSan).
#include <cstdio>
#include <filesystem>
#include <random>
#include <fstream>

#include "kernels/core/error.h"
#include "kernels/core/json.h"
#include "tests/support/test_util.h"
#include "vision/image/image.h"
#include "vision/preprocess/preprocess.h"

namespace mvl::vision {
namespace {

std::string golden(const std::string& rel) { return test::source_path("tests/golden/vision/" + rel); }

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}
void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
void put_be32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

TEST(ImageDecode, EveryFormatMatchesPilConvertRgb) {
  const json::Json m = json::parse_file(golden("manifest.json"));
  int n = 0;
  for (const auto& s : m.at("format_samples")) {
    const std::string file = s.at("file").get<std::string>();
    SCOPED_TRACE(file);
    const Image img = decode_image_file(golden(file));
    const Image want = decode_image_file(golden(s.at("expected_rgb").get<std::string>()));
    EXPECT_EQ(img.width, s.at("size").at(0).get<int64_t>());
    EXPECT_EQ(img.height, s.at("size").at(1).get<int64_t>());
    EXPECT_EQ(img.source_mode, s.at("mode").get<std::string>());
    ASSERT_EQ(img.rgb.size(), want.rgb.size());
    int max_diff = 0;
    size_t differing = 0;
    for (size_t i = 0; i < img.rgb.size(); ++i) {
      const int d = std::abs(int(img.rgb[i]) - int(want.rgb[i]));
      max_diff = std::max(max_diff, d);
      differing += d != 0;
    }
    if (img.source_mode == "CMYK") {
      // Documented: the decoder converts CMYK itself; PIL's conversion rounds differently.
      EXPECT_LE(max_diff, 3) << differing << " samples differ";
    } else {
      EXPECT_EQ(max_diff, 0) << differing << " samples differ";
    }
    ++n;
  }
  EXPECT_GE(n, 15);
}

TEST(ImageDecode, ModesPickPillowsResampleRule) {
  EXPECT_EQ(decode_image_file(golden("formats/palette.gif")).rule, ResampleRule::nearest);
  EXPECT_EQ(decode_image_file(golden("formats/bilevel.png")).rule, ResampleRule::nearest);
  EXPECT_EQ(decode_image_file(golden("formats/rgb.png")).rule, ResampleRule::bicubic);
  const Image rgba = decode_image_file(golden("formats/rgba_lossless.webp"));
  EXPECT_TRUE(rgba.has_alpha());
  EXPECT_EQ(rgba.rule, ResampleRule::bicubic_premultiplied);
}

TEST(ImageDecode, ExifOrientationIsIgnoredByDefaultAndSwitchable) {
  const Image raw = decode_image_file(golden("formats/exif_rotate90.jpg"));
  EXPECT_EQ(raw.width, 23);  // stored orientation, as PIL (and so the reference) sees it
  EXPECT_EQ(raw.height, 17);
  DecodeOptions o;
  o.apply_exif_orientation = true;
  const Image rotated = decode_image_file(golden("formats/exif_rotate90.jpg"), o);
  const Image want = decode_image_file(golden("formats/exif_rotate90.jpg.transposed.rgb.png"));
  EXPECT_EQ(rotated.width, 17);
  EXPECT_EQ(rotated.height, 23);
  EXPECT_EQ(rotated.rgb, want.rgb);
}

TEST(ImageDecode, EveryExifOrientationMatchesPilExifTranspose) {
  DecodeOptions o;
  o.apply_exif_orientation = true;
  for (int k = 1; k <= 8; ++k) {
    SCOPED_TRACE(k);
    const std::string f = fmt::format("formats/orientation{}.png", k);
    const Image plain = decode_image_file(golden(f));
    EXPECT_EQ(plain.width, 23);  // default: stored orientation
    const Image img = decode_image_file(golden(f), o);
    const Image want = decode_image_file(golden(f + ".transposed.rgb.png"));
    EXPECT_EQ(img.width, want.width);
    EXPECT_EQ(img.height, want.height);
    EXPECT_EQ(img.rgb, want.rgb);
  }
}

TEST(ImageDecode, ContentNotExtensionDecidesTheFormat) {
  const std::string dir = test::temp_dir("decode-ext");
  write_bytes(dir + "/photo.png", read_bytes(golden("formats/quality90.jpg")));  // a JPEG named .png
  const Image img = decode_image_file(dir + "/photo.png");
  EXPECT_EQ(img.format, "jpeg");
  EXPECT_EQ(img.rgb, decode_image_file(golden("formats/quality90.jpg.rgb.png")).rgb);
}

TEST(ImageDecode, PixelCapIsConfigurable) {
  DecodeOptions o;
  o.max_pixels = 23 * 17 - 1;
  try {
    decode_image_file(golden("formats/rgb.png"), o);
    FAIL() << "expected the pixel cap to refuse the image";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::out_of_memory);
    EXPECT_NE(std::string(e.what()).find("decompression-bomb guard"), std::string::npos)
        << e.what();
    // The library names no flag: only `preprocess` has --max-image-pixels (issue 14).
    EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << e.what();
  }
  o.max_pixels = 23 * 17;
  EXPECT_NO_THROW(decode_image_file(golden("formats/rgb.png"), o));
}

// Found by fuzz_image (session 5): a WebP header our parser accepts but libwebp declines, with
// "DICM" at byte 128, so cv::imdecode handed it to Debian OpenCV's GDCM reader, which aborted
// the process (an assert in libgdcmDSED). Now one clean error, and the process lives.
TEST(ImageDecode, ForeignDecoderSignaturesAreRefusedBeforeOpenCv) {
  const std::vector<uint8_t> bytes = {
      0x52, 0x49, 0x46, 0x46, 0x7c, 0x05, 0x01, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x4c,
      0x70, 0x05, 0x00, 0xf9, 0x2f, 0x16, 0x00, 0x22, 0x45, 0x78, 0x69, 0x66, 0x00, 0x00, 0x4d, 0x00,
      0x00, 0x00, 0x00, 0x2a, 0x4d, 0x08, 0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
      0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x8c, 0x00, 0xff, 0xdb, 0x00, 0x43, 0xf8, 0x01, 0x01, 0x01,
      0x01, 0x01, 0x01, 0x02, 0x01, 0x01, 0x01, 0x02, 0x02, 0x02, 0x02, 0x02, 0x04, 0x03, 0x02, 0x08,
      0x00, 0x02, 0x02, 0x02, 0x05, 0x04, 0x04, 0x03, 0x04, 0x06, 0x05, 0x06, 0x06, 0x06, 0x05, 0x16,
      0x45, 0x06, 0x07, 0x09, 0x0c, 0x06, 0x07, 0x00, 0x07, 0x06, 0x06, 0x08, 0x0b, 0x08, 0x09, 0x0a,
      0x0a, 0x0a, 0x0a, 0x0a, 0x06, 0x08, 0x0b, 0x0c, 0x0b, 0x0a, 0x0a, 0x0a, 0x0c, 0x09, 0x0a, 0xff,
      0x44, 0x49, 0x43, 0x4d, 0x02, 0x00, 0xff, 0xf5, 0xdb, 0x00, 0x10, 0x00, 0xf8, 0xbf, 0x11, 0x23,
      0xfe, 0x35};
  ASSERT_EQ(bytes.size(), 146u);
  try {
    decode_image_bytes(bytes, "evil.webp");
    FAIL() << "a WebP carrying a DICOM signature was decoded";
  } catch (const Error& e) {
    EXPECT_TRUE(e.category() == ErrorCategory::bad_format ||
                e.category() == ErrorCategory::unsupported)  // a build without OpenCV: no WebP
        << e.what();
  }
}

// --------------------------------------------------------------- hostile inputs
struct Hostile {
  std::string name;
  std::vector<uint8_t> bytes;  // written to a file named `name`
  std::string expect;          // a fragment the message must contain
};

std::vector<Hostile> hostile_files() {
  const std::vector<uint8_t> png = read_bytes(golden("formats/rgb.png"));
  const std::vector<uint8_t> jpg = read_bytes(golden("formats/quality90.jpg"));
  const std::vector<uint8_t> gif = read_bytes(golden("formats/palette.gif"));
  const std::vector<uint8_t> bmp = read_bytes(golden("formats/rgb.bmp"));
  const std::vector<uint8_t> webp = read_bytes(golden("formats/lossless.webp"));
  const std::vector<uint8_t> tiff = read_bytes(golden("formats/rgb.tiff"));
  std::vector<Hostile> h;
  auto cut = [](std::vector<uint8_t> b, size_t n) { b.resize(std::min(n, b.size())); return b; };

  h.push_back({"empty.png", {}, "empty"});
  h.push_back({"garbage.jpg", {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n'}, "not a supported image"});
  h.push_back({"text_named.png", std::vector<uint8_t>(4096, 'A'), "not a supported image"});
  h.push_back({"truncated.png", cut(png, png.size() / 2), "truncated"});
  h.push_back({"signature_only.png", cut(png, 12), "truncated PNG header"});
  h.push_back({"no_iend.png", cut(png, png.size() - 12), "truncated"});
  {
    auto b = png;
    put_be32(b, 16, 0);
    put_be32(b, 20, 0);
    h.push_back({"zero_by_zero.png", b, "0x0"});
  }
  {
    auto b = png;
    put_be32(b, 16, 100000);
    put_be32(b, 20, 100000);
    h.push_back({"huge_header.png", b, "exceeds"});
  }
  h.push_back({"zip_bomb.png", read_bytes(golden("formats/zip_bomb_20000x20000.png")), "decompression-bomb"});
  {
    auto b = png;
    for (size_t i = 41; i < b.size() - 12; ++i) b[i] ^= 0x5A;  // scramble the compressed pixel data
    h.push_back({"corrupt_idat.png", b, "CRC mismatch"});
  }
  {
    auto b = png;
    b[25] = 5;  // colour type 5 does not exist
    h.push_back({"bad_colour_type.png", b, "colour type"});
  }
  h.push_back({"bad.jpg", {0xFF, 0xD8, 0xFF, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef}, "JPEG"});
  h.push_back({"truncated.jpg", cut(jpg, jpg.size() * 2 / 3), "truncated"});
  {
    auto b = jpg;  // patch the frame header to 65500 x 65500
    for (size_t i = 2; i + 8 < b.size(); ++i) {
      if (b[i] == 0xFF && b[i + 1] == 0xC0) {
        b[i + 5] = 0xFF; b[i + 6] = 0xDC; b[i + 7] = 0xFF; b[i + 8] = 0xDC;
        break;
      }
    }
    h.push_back({"huge.jpg", b, "exceeds"});
  }
  {
    auto b = jpg;  // first Huffman table claims 16 x 255 codes (stb_image would overrun its arrays)
    for (size_t i = 2; i + 21 < b.size(); ++i) {
      if (b[i] == 0xFF && b[i + 1] == 0xC4) {
        for (size_t k = 0; k < 16; ++k) b[i + 5 + k] = 0xFF;
        break;
      }
    }
    h.push_back({"huffman_overflow.jpg", b, "Huffman table"});
  }
  h.push_back({"header_only.gif", cut(gif, 8), "truncated GIF header"});
  {
    auto b = gif;
    b[6] = b[7] = b[8] = b[9] = 0;
    h.push_back({"zero.gif", b, "0x0"});
  }
  h.push_back({"truncated.gif", cut(gif, gif.size() / 2), "truncated"});
  h.push_back({"truncated_header.bmp", cut(bmp, 20), "truncated BMP header"});
  h.push_back({"truncated_pixels.bmp", cut(bmp, 80), "truncated"});
  {
    auto b = bmp;
    b[18] = 0xFF; b[19] = 0xFF; b[20] = 0xFF; b[21] = 0x7F;  // width 2^31 - 1
    h.push_back({"wide.bmp", b, "exceeds"});
  }
  h.push_back({"truncated.webp", cut(webp, webp.size() / 2), "cannot decode"});
  h.push_back({"riff_only.webp", cut(webp, 16), "WebP"});
  {
    auto b = tiff;  // first IFD offset far beyond the end of the file
    b[4] = 0xFF; b[5] = 0xFF; b[6] = 0xFF; b[7] = 0x0F;
    h.push_back({"bad_ifd.tiff", b, "truncated TIFF header"});
  }
  h.push_back({"truncated.tiff", cut(tiff, tiff.size() / 2), "truncated"});
  return h;
}

TEST(ImageDecode, HostileFilesGiveOneLineErrors) {
  const std::string dir = test::temp_dir("hostile");
  const std::vector<Hostile> cases = hostile_files();
  ASSERT_GE(cases.size(), 15u);
  for (const Hostile& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir + "/" + c.name;
    write_bytes(path, c.bytes);
    try {
      const Image img = decode_image_file(path);
      ADD_FAILURE() << "decoded " << img.width << "x" << img.height << " instead of failing";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      EXPECT_NE(msg.find(path), std::string::npos) << "the message must name the file: " << msg;
      EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
    }
  }
}

TEST(ImageDecode, MutatedFilesNeverCrash) {
  // Seeded bit flips, byte smears and truncations of every sample format: each decode must
  // either succeed or throw mvl::Error (run under ASan/UBSan to make "never crash" mean it).
  const json::Json m = json::parse_file(golden("manifest.json"));
  std::mt19937 rng(1234);
  int decoded = 0, refused = 0;
  for (const auto& s : m.at("format_samples")) {
    const std::vector<uint8_t> orig = read_bytes(golden(s.at("file").get<std::string>()));
    for (int k = 0; k < 60; ++k) {
      std::vector<uint8_t> b = orig;
      switch (k % 3) {
        case 0:
          for (int f = 0; f < 1 + k % 7; ++f) b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 1: {
          const size_t at = rng() % b.size();
          for (size_t i = at; i < std::min(b.size(), at + 1 + rng() % 16); ++i) b[i] = static_cast<uint8_t>(rng());
          break;
        }
        default:
          b.resize(rng() % b.size());
      }
      try {
        const Image img = decode_image_bytes(b, s.at("file").get<std::string>());
        EXPECT_EQ(img.rgb.size(), static_cast<size_t>(img.width * img.height * 3));
        ++decoded;
      } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, 0);
  std::printf("  mutated files: %d decoded, %d refused with an Error\n", decoded, refused);
}

TEST(ImageDecode, DirectoriesAndMissingFilesAreRefused) {
  const std::string dir = test::temp_dir("decode-dir");
  try {
    decode_image_file(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("directory"), std::string::npos) << e.what();
  }
  try {
    decode_image_file(dir + "/nope.png");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::not_found);
  }
}

TEST(ImageDecode, TooElongatedImagesFailInPreprocessingNotCrash) {
  // 100000 x 10 passes the decoder's cap but the keep-ratio resize floors its height to 0
  // (the reference crashes there); we report it.
  Image img;
  img.width = 3179;
  img.height = 1;
  img.rgb.assign(3179 * 3, 128);
  try {
    preprocess(img, PreprocessConfig{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("too elongated"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mvl::vision
