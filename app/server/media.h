// Turns the images of a parsed request into prepared engine images: data: URL bytes or a
// local file under --allowed-media-path, sniffed and size-checked from the header before
// any pixel is decoded, then decoded + preprocessed on the calling (HTTP) thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "app/engine/core/engine.h"
#include "app/server/chat_request.h"

namespace mvl::server {

struct MediaOptions {
  std::string allowed_media_path;         // "" = local files refused
  int64_t max_image_pixels = 50'000'000;  // width * height per image
  int64_t max_image_bytes = 32 << 20;     // one file or one decoded data: URL
  std::string temp_dir;                   // where data: URL bytes are written for decoding
};

class MediaResolver {
 public:
  explicit MediaResolver(MediaOptions opts) : opts_(std::move(opts)) {}
  // The engine content part for `img`: its identity (content hash, so equal images compare
  // equal in the session cache) and its preprocessed pixels. Throws ApiError (400) for
  // unreadable, disallowed, unknown-format or oversized images.
  engine::ContentPart resolve(const ImageInput& img, const engine::Engine& eng,
                              const std::string& param) const;
  const MediaOptions& options() const { return opts_; }

 private:
  MediaOptions opts_;
  mutable std::atomic<uint64_t> counter_{0};  // temp file names
};

// FNV-1a 64 of the bytes, as 16 hex digits.
std::string content_hash(const std::vector<uint8_t>& bytes);

}  // namespace mvl::server
