// Fuzzes what `minimax-vl serve` does with a POST /v1/chat/completions body before any model
// work: parse_chat_request (JSON -> request: roles, content parts, data: URLs and their
// base64, file paths, sampling fields, stop lists, limits), the header probe of each data:
// URL image, the error object a refusal becomes, and the response JSON echoing the text.
// The input is the request body. A refusal must be an ApiError 400; anything else is a bug.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "app/engine/core/events.h"
#include "app/engine/loading/image_probe.h"
#include "app/server/api_error.h"
#include "app/server/chat_request.h"
#include "app/server/openai_json.h"
#include "kernels/core/error.h"

using namespace mvl;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_server: %s\n", what);
  std::abort();
}

std::string encode_base64(const std::vector<uint8_t>& b) {
  static const char* const k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < b.size(); i += 3) {
    const uint32_t v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == b.size()) {
    const uint32_t v = b[i] << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == b.size()) {
    const uint32_t v = (b[i] << 16) | (b[i + 1] << 8);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

// decode(encode(x)) == x for every byte string the decoder produced.
void check_round_trip(const std::vector<uint8_t>& bytes) {
  const auto again = server::decode_base64(encode_base64(bytes));
  if (!again || *again != bytes) fail("base64 round trip changed the bytes");
}

// What the HTTP edge does with a refusal: render it once, never throwing.
void check_refusal(const server::ApiError& e) {
  if (e.status != 400 || e.type != "invalid_request_error") fail("a refusal that is not a 400");
  if (std::string_view(e.what()).empty()) fail("a refusal without a message");
  (void)server::dump(server::error_json(e));
}

void check_request(const server::ChatRequest& r, const server::ParseLimits& lim) {
  if (r.messages.empty() || r.messages.back().role != engine::Role::user)
    fail("accepted a request whose last message is not the user's");
  if (static_cast<int64_t>(r.messages.size()) > lim.max_messages) fail("too many messages");
  if (r.num_images > lim.max_images) fail("too many images");
  if (static_cast<int64_t>(r.stop.size()) > lim.max_stop) fail("too many stop strings");
  for (const auto& s : r.stop)
    if (s.empty()) fail("an empty stop string");
  if (r.max_tokens && *r.max_tokens < 1) fail("max_tokens below 1");
  if (r.temperature && !(*r.temperature >= 0 && *r.temperature <= 2)) fail("bad temperature");
  if (r.top_p && !(*r.top_p > 0 && *r.top_p <= 1)) fail("bad top_p");
  int64_t images = 0;
  const server::CompletionIds ids{"chatcmpl-fuzz", 0, "m"};
  for (size_t i = 0; i < r.messages.size(); ++i) {
    const auto& m = r.messages[i];
    if (i > 0 && m.role == engine::Role::system) fail("a system message after the first");
    for (const auto& p : m.parts) {
      if (!p.is_image) {
        // Text is echoed into response JSON (e.g. as the answer); invalid UTF-8 must not throw.
        (void)server::sse(server::chunk_json(ids, std::nullopt, p.text, std::nullopt));
        continue;
      }
      ++images;
      if (m.role != engine::Role::user) fail("an image outside a user message");
      const auto& img = p.image;
      if (img.source == server::ImageInput::Source::file) {
        if (img.path.empty() || img.path[0] != '/') fail("a relative image path was accepted");
        continue;
      }
      if (img.bytes.empty()) fail("an empty data: URL image was accepted");
      if (img.mime != "image/png" && img.mime != "image/jpeg" && img.mime != "image/jpg" &&
          img.mime != "image/webp")
        fail("a data: URL of another type was accepted");
      check_round_trip(img.bytes);
      // The server sniffs the header before decoding anything.
      try {
        const engine::ImageProbe h = engine::probe_image(img.bytes.data(), img.bytes.size(), "x");
        if (h.width < 1 || h.height < 1 || h.format.empty()) fail("a probe without a size");
      } catch (const Error&) {
      }
    }
  }
  if (images != r.num_images) fail("num_images does not count the image parts");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  server::ParseLimits lim;
  lim.max_images = 4;
  lim.max_messages = 64;
  try {
    check_request(server::parse_chat_request(body, lim), lim);
  } catch (const server::ApiError& e) {
    check_refusal(e);
  } catch (const std::exception& e) {
    // The server would answer 500 "internal" for this body: a parser bug.
    std::fprintf(stderr, "a non-ApiError exception escaped: %s\n", e.what());
    std::abort();
  }
  // The base64 decoder on its own, on the raw bytes: whatever it accepts must round-trip.
  if (auto bytes = server::decode_base64(body)) {
    if (bytes->size() > size / 4 * 3 + 3) fail("base64 decoded to more bytes than it could hold");
    check_round_trip(*bytes);
  }
  return 0;
}
