// The text tokenizer: loads a Hugging Face tokenizer.json (BPE model, added tokens,
// normalizer, pre-tokenizer, decoder) and encodes/decodes exactly like the `tokenizers`
// library's encode(text, add_special_tokens=False) / decode(ids, skip_special_tokens).
// Immutable after loading; encode/decode are safe to call from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mvl::llm {

struct TokenizerImpl;

// One entry of tokenizer.json's "added_tokens".
struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool normalized = false;
  bool lstrip = false, rstrip = false, single_word = false;
};

// Ids at or beyond this are refused unless the caller passes its model's vocab_size (the id
// table is dense: an id of 2^27 alone would allocate gigabytes).
inline constexpr int64_t kMaxTokenizerVocab = int64_t{1} << 24;

class Tokenizer {
 public:
  // Throws Error{not_found|io|bad_format|unsupported}, one line naming the file and the part.
  // Every id must lie below `max_vocab` (pass the model config's vocab_size).
  static Tokenizer from_file(const std::string& path, int64_t max_vocab = kMaxTokenizerVocab);
  // `what` names the source in error messages (a path or "tokenizer.json").
  static Tokenizer from_json_text(const std::string& text, const std::string& what,
                                  int64_t max_vocab = kMaxTokenizerVocab);

  // Text -> ids. parse_special=true matches every added token in the text (HF default);
  // false leaves special added tokens as plain text (HF's encode_special_tokens=True), which
  // is how user-typed text must be encoded. Throws Error{invalid_argument} on invalid UTF-8.
  std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const;
  // Ids -> text; skip_special drops special added tokens. Unknown ids throw
  // Error{invalid_argument}. Invalid byte sequences become U+FFFD, as in HF.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The token's string ("" for an id with no token).
  std::string id_to_token(int32_t id) const;
  bool has_id(int32_t id) const;
  // Max id + 1 over the model vocabulary and the added tokens.
  int64_t vocab_size() const;
  bool is_special(int32_t id) const;
  const std::vector<AddedToken>& added_tokens() const;

  // For the incremental detokenizer: true when tokens decode independently into bytes
  // (ByteLevel decoder); then token_bytes() gives those bytes for one id.
  bool streams_bytes() const;
  void token_bytes(int32_t id, bool skip_special, std::string& out) const;

 private:
  explicit Tokenizer(std::shared_ptr<const TokenizerImpl> impl) : impl_(std::move(impl)) {}
  static std::shared_ptr<const TokenizerImpl> build_impl(const std::string& text,
                                                         int64_t max_vocab);
  std::shared_ptr<const TokenizerImpl> impl_;
};

}  // namespace mvl::llm
