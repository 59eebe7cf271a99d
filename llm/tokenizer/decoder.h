// tokenizer.json "decoder": ByteLevel, ByteFallback, Fuse, Strip, Replace and Sequence, each
// with Hugging Face's decode_chain semantics (a list of token strings in, a list out; the
// final text is their concatenation). No decoder means tokens joined with single spaces.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "llm/tokenizer/regex.h"

namespace mvl::llm {

struct DecoderStep {
  enum class Kind { byte_level, byte_fallback, fuse, strip, replace };
  Kind kind = Kind::byte_level;
  std::shared_ptr<const Regex> pattern;  // replace
  std::string content;                   // replace: replacement; strip: the character
  size_t start = 0, stop = 0;            // strip counts
};

class Decoder {
 public:
  // Parses "decoder" (null = join with spaces); throws Error{bad_format|unsupported}.
  static Decoder from_json(const nlohmann::json& j);

  std::string decode(std::vector<std::string> tokens, RegexScratch& rs) const;

  // True when decoding is "map each token to bytes, concatenate, then lossy UTF-8" (a lone
  // ByteLevel decoder): the incremental detokenizer can then stream token by token.
  bool is_byte_level_only() const {
    return present_ && steps_.size() == 1 && steps_[0].kind == DecoderStep::Kind::byte_level;
  }
  bool present() const { return present_; }

 private:
  void add(const nlohmann::json& j, const std::string& where);
  bool present_ = false;
  std::vector<DecoderStep> steps_;
};

// The bytes a ByteLevel decoder produces for one token (before UTF-8 repair): each character
// mapped back to its byte, or the token's own bytes when some character is not in the table.
void byte_level_token_bytes(std::string_view token, std::string& out);

}  // namespace mvl::llm
