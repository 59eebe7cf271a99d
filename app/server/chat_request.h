// The body of POST /v1/chat/completions, parsed and validated by one pure function (no
// files, no model, no globals): easy to unit-test and to fuzz. Images arrive as decoded
// data: URL bytes or as local paths; the filesystem checks happen later (media.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/engine/core/chat_types.h"

namespace mvl::server {

struct ImageInput {
  enum class Source { data_url, file };
  Source source = Source::data_url;
  std::string mime;            // data_url: the declared media type ("image/png")
  std::vector<uint8_t> bytes;  // data_url: the decoded payload
  std::string path;            // file: the local path (file:// stripped)
};

struct InputPart {
  bool is_image = false;
  std::string text;  // !is_image
  ImageInput image;  // is_image
};

struct InputMessage {
  engine::Role role = engine::Role::user;
  std::vector<InputPart> parts;
};

struct ChatRequest {
  std::string model;
  std::vector<InputMessage> messages;  // system (optional, first) ... last is user
  bool stream = false;
  bool include_usage = false;         // stream_options.include_usage
  std::optional<int64_t> max_tokens;  // max_completion_tokens wins over max_tokens
  std::optional<float> temperature;
  std::optional<float> top_p;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  int64_t num_images = 0;
};

struct ParseLimits {
  int64_t max_images = 8;  // image parts in the whole request
  int64_t max_messages = 1024;
  int64_t max_stop = 4;  // as OpenAI
};

// Parses and validates; throws ApiError (400, with `param` naming the field) for
// anything malformed, unsupported or over a limit. Unknown fields are ignored.
ChatRequest parse_chat_request(std::string_view body, const ParseLimits& limits);

// Standard base64 (RFC 4648, padding optional, ASCII whitespace skipped). Returns nullopt
// on any other character or a bad length.
std::optional<std::vector<uint8_t>> decode_base64(std::string_view s);

}  // namespace mvl::server
