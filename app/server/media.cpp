// MediaResolver: path policy (canonical path must lie under --allowed-media-path, so "..",
// symlinks out of it and relative tricks are refused), header sniffing and the pixel cap.
#include "app/server/media.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "app/engine/loading/image_probe.h"
#include "app/server/api_error.h"

namespace mvl::server {
namespace fs = std::filesystem;

std::string content_hash(const std::vector<uint8_t>& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : bytes) {
    h ^= b;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

namespace {

std::vector<uint8_t> read_local(const std::string& path, const MediaOptions& o,
                                const std::string& param, std::string& canonical) {
  if (o.allowed_media_path.empty())
    throw bad_request(
        "local image files are refused: the server was started without "
        "--allowed-media-path; send the image as a data: URL",
        param, "local_file_refused");
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(o.allowed_media_path, ec);
  const fs::path p = fs::canonical(path, ec);  // resolves symlinks and ".."
  if (ec) throw bad_request("image file '" + path + "' does not exist", param, "image_not_found");
  auto rel = p.lexically_relative(root);
  if (rel.empty() || *rel.begin() == "..")
    throw bad_request("image file '" + path + "' is outside --allowed-media-path", param,
                      "local_file_refused");
  if (!fs::is_regular_file(p, ec)) throw bad_request("'" + path + "' is not a file", param);
  const auto size = fs::file_size(p, ec);
  if (ec || static_cast<int64_t>(size) > o.max_image_bytes)
    throw bad_request(
        fmt::format("image file '{}' is larger than {} bytes", path, o.max_image_bytes), param,
        "image_too_large");
  std::ifstream in(p, std::ios::binary);
  std::vector<uint8_t> bytes(size);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    throw bad_request("image file '" + path + "' could not be read", param);
  canonical = p.string();
  return bytes;
}

}  // namespace

engine::ContentPart MediaResolver::resolve(const ImageInput& img, const engine::Engine& eng,
                                           const std::string& param) const {
  if (!eng.has_vision())
    throw bad_request("the loaded model has no vision tower, so it cannot take images", param);
  std::string origin = "data-url";
  const std::vector<uint8_t>* bytes = &img.bytes;
  std::vector<uint8_t> file_bytes;
  if (img.source == ImageInput::Source::file) {
    file_bytes = read_local(img.path, opts_, param, origin);
    bytes = &file_bytes;
  } else if (static_cast<int64_t>(img.bytes.size()) > opts_.max_image_bytes) {
    throw bad_request(fmt::format("the image is larger than {} bytes", opts_.max_image_bytes),
                      param, "image_too_large");
  }
  engine::ImageProbe h;
  try {
    h = engine::probe_image(bytes->data(), bytes->size(), param);
  } catch (const Error& e) {
    throw bad_request(std::string("the image could not be read: ") + e.what(), param,
                      "invalid_image");
  }
  if (h.format != "png" && h.format != "jpeg" && h.format != "webp")
    throw bad_request("image format '" + h.format + "' is not accepted (PNG, JPEG, WebP)", param,
                      "unsupported_image_type");
  if (h.width * h.height > opts_.max_image_pixels)
    throw bad_request(fmt::format("the image is {}x{} = {} pixels; the server's limit is "
                                  "--max-image-pixels {}",
                                  h.width, h.height, h.width * h.height, opts_.max_image_pixels),
                      param, "image_too_large");
  const std::string id = origin + "#" + content_hash(*bytes);
  // The vision tower decodes from a path: write the bytes to a private file, prepare, delete.
  const std::string tmp =
      fmt::format("{}/img-{}-{}.{}", opts_.temp_dir, ::getpid(), counter_.fetch_add(1), h.format);
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes->data()),
              static_cast<std::streamsize>(bytes->size()));
    if (!out)
      throw ApiError(500, "server_error", "temp_write_failed",
                     "could not write a temporary image file in " + opts_.temp_dir);
  }
  std::shared_ptr<const engine::PreparedImage> prep;
  try {
    prep = eng.prepare_image(tmp);
  } catch (const Error& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw bad_request(std::string("the image could not be decoded: ") + e.message(), param,
                      "invalid_image");
  }
  std::error_code ec;
  fs::remove(tmp, ec);
  return engine::ContentPart::make_image(id, prep);
}

}  // namespace mvl::server
