// UTF-8 helpers for the tokenizer: validation, code point iteration, and a streaming
// "lossy" decoder that replaces invalid byte sequences with U+FFFD exactly like Rust's
// String::from_utf8_lossy (one U+FFFD per maximal invalid subpart), which is what Hugging
// Face's ByteLevel decoder does. One-shot and streaming decodes share the same state machine,
// so they agree byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mvl::llm::utf8 {

inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the UTF-8 sequence that starts with byte b (1 for invalid lead bytes).
inline size_t seq_len(unsigned char b) {
  if (b < 0x80) return 1;
  if (b >= 0xF0) return 4;
  if (b >= 0xE0) return 3;
  if (b >= 0xC0) return 2;
  return 1;
}

// Byte offset of the first invalid sequence, or npos when `s` is valid UTF-8.
size_t find_invalid(std::string_view s);
inline bool is_valid(std::string_view s) {
  return find_invalid(s) == std::string_view::npos;
}

// Decodes the code point at s[i] (s must be valid UTF-8) and advances i.
uint32_t next_code_point(std::string_view s, size_t& i);
void append_code_point(std::string& out, uint32_t cp);

// Streaming lossy UTF-8 decoder. push() appends everything that is already determined to
// `out` and keeps an incomplete trailing sequence (at most 3 bytes) for the next call;
// finish() turns a leftover incomplete sequence into one U+FFFD.
class LossyDecoder {
 public:
  void push(std::string_view bytes, std::string& out);
  void finish(std::string& out);
  bool has_pending() const { return pending_len_ > 0; }

 private:
  unsigned char pending_[4] = {};
  size_t pending_len_ = 0;
};

// One-shot form of LossyDecoder.
std::string to_valid_lossy(std::string_view bytes);

}  // namespace mvl::llm::utf8
