// parse_chat_request: the JSON body of a chat completion -> ChatRequest, refusing what the
// server cannot honour (n > 1, tools, remote image URLs) with a 400 naming the field.
#include "app/server/chat_request.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "app/server/api_error.h"
#include "kernels/core/json.h"

namespace mvl::server {
namespace {

using json::Json;

std::optional<double> number_field(const Json& o, const char* key, double lo, double hi) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw bad_request(std::string("'") + key + "' must be a number", key);
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    throw bad_request(fmt::format("'{}' must be between {} and {}, got {}", key, lo, hi, v), key);
  return v;
}

std::optional<int64_t> int_field(const Json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer())
    throw bad_request(std::string("'") + key + "' must be an integer", key);
  return it->get<int64_t>();
}

std::optional<bool> bool_field(const Json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) throw bad_request(std::string("'") + key + "' must be a boolean", key);
  return it->get<bool>();
}

ImageInput parse_image_url(const std::string& url, const std::string& param) {
  ImageInput img;
  if (url.rfind("data:", 0) == 0) {
    const size_t comma = url.find(',');
    if (comma == std::string::npos)
      throw bad_request("the data: URL has no ',' before its payload", param);
    const std::string header = url.substr(5, comma - 5);  // "image/png;base64"
    const size_t semi = header.find(';');
    img.mime = header.substr(0, semi);
    if (semi == std::string::npos || header.substr(semi + 1) != "base64")
      throw bad_request("only base64 data: URLs are accepted (data:image/png;base64,...)", param);
    if (img.mime != "image/png" && img.mime != "image/jpeg" && img.mime != "image/jpg" &&
        img.mime != "image/webp")
      throw bad_request("data: URL type '" + img.mime +
                            "' is not accepted; send image/png, image/jpeg or image/webp",
                        param, "unsupported_image_type");
    auto bytes = decode_base64(std::string_view(url).substr(comma + 1));
    if (!bytes) throw bad_request("the data: URL's base64 payload is malformed", param);
    if (bytes->empty()) throw bad_request("the data: URL's image is empty", param);
    img.source = ImageInput::Source::data_url;
    img.bytes = std::move(*bytes);
    return img;
  }
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0)
    throw bad_request(
        "remote image URLs are not fetched by this server; send the image as a data: URL "
        "(data:image/png;base64,...) or as a local file under --allowed-media-path",
        param, "remote_url_refused");
  img.source = ImageInput::Source::file;
  if (url.rfind("file://", 0) == 0)
    img.path = url.substr(7);
  else
    img.path = url;
  if (img.path.empty() || img.path[0] != '/')
    throw bad_request(
        "image_url must be a data: URL, a file:///absolute/path or an absolute "
        "path under --allowed-media-path",
        param);
  return img;
}

InputMessage parse_message(const Json& m, size_t index, int64_t& images,
                           const ParseLimits& limits) {
  const std::string where = fmt::format("messages[{}]", index);
  if (!m.is_object()) throw bad_request(where + " must be an object", where);
  auto role_it = m.find("role");
  if (role_it == m.end() || !role_it->is_string())
    throw bad_request(where + ".role must be a string", where + ".role");
  const std::string role = role_it->get<std::string>();
  InputMessage out;
  if (role == "system" || role == "developer")
    out.role = engine::Role::system;
  else if (role == "user")
    out.role = engine::Role::user;
  else if (role == "assistant")
    out.role = engine::Role::assistant;
  else
    throw bad_request(
        where + ".role '" + role + "' is not supported (system, developer, user, assistant)",
        where + ".role");
  if (out.role == engine::Role::assistant && m.contains("tool_calls") && !m["tool_calls"].is_null())
    throw bad_request("tool calls are not supported by this server", where + ".tool_calls");
  auto content = m.find("content");
  if (content == m.end() || content->is_null())
    throw bad_request(where + ".content is missing", where + ".content");
  if (content->is_string()) {
    out.parts.push_back(InputPart{false, content->get<std::string>(), {}});
    return out;
  }
  if (!content->is_array())
    throw bad_request(where + ".content must be a string or an array of parts", where + ".content");
  for (size_t k = 0; k < content->size(); ++k) {
    const Json& p = (*content)[k];
    const std::string pw = fmt::format("{}.content[{}]", where, k);
    if (!p.is_object() || !p.contains("type") || !p["type"].is_string())
      throw bad_request(pw + " must be an object with a string 'type'", pw);
    const std::string type = p["type"].get<std::string>();
    if (type == "text") {
      if (!p.contains("text") || !p["text"].is_string())
        throw bad_request(pw + ".text must be a string", pw + ".text");
      out.parts.push_back(InputPart{false, p["text"].get<std::string>(), {}});
    } else if (type == "image_url") {
      if (out.role != engine::Role::user)
        throw bad_request("images are accepted in user messages only", pw);
      const Json* u = p.contains("image_url") ? &p["image_url"] : nullptr;
      std::string url;
      if (u && u->is_string())
        url = u->get<std::string>();
      else if (u && u->is_object() && u->contains("url") && (*u)["url"].is_string())
        url = (*u)["url"].get<std::string>();
      else
        throw bad_request(pw + ".image_url.url must be a string", pw + ".image_url");
      if (++images > limits.max_images)
        throw bad_request(fmt::format("the request has more than {} images; the server's limit is "
                                      "--max-images {}",
                                      limits.max_images, limits.max_images),
                          pw, "too_many_images");
      InputPart part;
      part.is_image = true;
      part.image = parse_image_url(url, pw + ".image_url");
      out.parts.push_back(std::move(part));
    } else {
      throw bad_request(pw + ".type '" + type + "' is not supported (text, image_url)",
                        pw + ".type");
    }
  }
  return out;
}

}  // namespace

std::optional<std::vector<uint8_t>> decode_base64(std::string_view s) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<uint8_t> out;
  out.reserve(s.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0, pad = 0;
  for (char c : s) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++pad;
      continue;
    }
    const int v = value(c);
    if (v < 0 || pad > 0) return std::nullopt;  // a stray char, or data after padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits: 0 (aligned), 2 (one extra byte) or 4 (two); 6 is an impossible length.
  if (bits == 6 || pad > 2) return std::nullopt;
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-canonical trailing bits
  return out;
}

ChatRequest parse_chat_request(std::string_view body, const ParseLimits& limits) {
  Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw bad_request("the request body is not valid JSON", {}, "invalid_json");
  if (!j.is_object()) throw bad_request("the request body must be a JSON object");
  ChatRequest r;
  if (auto it = j.find("model"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) throw bad_request("'model' must be a string", "model");
    r.model = it->get<std::string>();
  }
  auto msgs = j.find("messages");
  if (msgs == j.end() || !msgs->is_array() || msgs->empty())
    throw bad_request("'messages' must be a non-empty array", "messages");
  if (static_cast<int64_t>(msgs->size()) > limits.max_messages)
    throw bad_request(fmt::format("'messages' has {} entries; the limit is {}", msgs->size(),
                                  limits.max_messages),
                      "messages");
  for (size_t i = 0; i < msgs->size(); ++i)
    r.messages.push_back(parse_message((*msgs)[i], i, r.num_images, limits));
  for (size_t i = 1; i < r.messages.size(); ++i) {
    if (r.messages[i].role == engine::Role::system)
      throw bad_request("only the first message may be a system message",
                        fmt::format("messages[{}].role", i));
  }
  if (r.messages.back().role != engine::Role::user)
    throw bad_request("the last message must come from the user", "messages");

  r.stream = bool_field(j, "stream").value_or(false);
  if (auto it = j.find("stream_options"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) throw bad_request("'stream_options' must be an object", "stream_options");
    r.include_usage = bool_field(*it, "include_usage").value_or(false);
  }
  auto mt = int_field(j, "max_completion_tokens");
  if (!mt) mt = int_field(j, "max_tokens");
  if (mt && *mt < 1) throw bad_request("'max_tokens' must be at least 1", "max_tokens");
  r.max_tokens = mt;
  if (auto t = number_field(j, "temperature", 0, 2)) r.temperature = static_cast<float>(*t);
  if (auto p = number_field(j, "top_p", 0, 1)) {
    if (*p <= 0) throw bad_request("'top_p' must be greater than 0", "top_p");
    r.top_p = static_cast<float>(*p);
  }
  if (auto s = int_field(j, "seed")) r.seed = static_cast<uint64_t>(*s);
  if (auto n = int_field(j, "n"); n && *n != 1) throw bad_request("only n=1 is supported", "n");
  if (auto it = j.find("stop"); it != j.end() && !it->is_null()) {
    if (it->is_string())
      r.stop.push_back(it->get<std::string>());
    else if (it->is_array()) {
      for (const auto& s : *it) {
        if (!s.is_string()) throw bad_request("'stop' entries must be strings", "stop");
        r.stop.push_back(s.get<std::string>());
      }
    } else {
      throw bad_request("'stop' must be a string or an array of strings", "stop");
    }
    if (static_cast<int64_t>(r.stop.size()) > limits.max_stop)
      throw bad_request(fmt::format("'stop' has more than {} entries", limits.max_stop), "stop");
    for (const auto& s : r.stop)
      if (s.empty()) throw bad_request("'stop' entries must not be empty", "stop");
  }
  if (auto it = j.find("tools"); it != j.end() && !it->is_null() && !it->empty())
    throw bad_request("tools are not supported by this server", "tools");
  if (bool_field(j, "logprobs").value_or(false))
    throw bad_request("logprobs are not supported by this server", "logprobs");
  return r;
}

}  // namespace mvl::server
