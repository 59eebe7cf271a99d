// Added tokens (tokenizer.json "added_tokens"): finds them in text before the BPE runs, with
// Hugging Face's rules: leftmost-longest non-overlapping matches, special tokens skipped when
// they are to be encoded as text, single_word/lstrip/rstrip applied to each match. Tokens
// with normalized=false are matched on the raw text, the others on the normalized text.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llm/tokenizer/regex.h"
#include "llm/tokenizer/tokenizer.h"

namespace mvl::llm {

// A byte trie over token contents for leftmost-longest search.
class TokenMatcher {
 public:
  void add(const std::string& pattern, int32_t index);
  bool empty() const { return nodes_.size() <= 1; }
  // Non-overlapping leftmost-longest matches: (start, end, index).
  void find_all(std::string_view text, std::vector<std::tuple<size_t, size_t, int32_t>>& out) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> next;  // byte -> node
    int32_t index = -1;                                   // pattern ending here
  };
  std::vector<Node> nodes_{Node{}};
  bool first_byte_[256] = {};
};

// A piece of text: an added token (id >= 0) or a text span [begin, end) to tokenize further.
struct AddedSplit {
  int32_t id = -1;
  size_t begin = 0, end = 0;
};

class AddedVocab {
 public:
  // `normalize` maps a token's content to its normalized form (for normalized=true tokens).
  template <typename NormalizeFn>
  void build(std::vector<AddedToken> tokens, NormalizeFn&& normalize) {
    tokens_ = std::move(tokens);
    // Rust regex's Unicode \w (Alphabetic, marks, decimal digits, connector punctuation, join
    // controls), which Hugging Face uses to decide single_word boundaries.
    word_char_ = std::make_shared<Regex>("[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}]");
    for (size_t i = 0; i < tokens_.size(); ++i) {
      const AddedToken& t = tokens_[i];
      by_id_[t.id] = static_cast<int32_t>(i);
      by_content_.emplace(t.content, t.id);
      if (t.normalized)
        normalized_.add(normalize(t.content), static_cast<int32_t>(i));
      else
        raw_.add(t.content, static_cast<int32_t>(i));
    }
  }

  // Splits `text` with the raw (normalized=false) or the normalized token set.
  void split(std::string_view text, bool normalized_set, bool parse_special,
             std::vector<AddedSplit>& out,
             std::vector<std::tuple<size_t, size_t, int32_t>>& tmp) const;
  bool has_normalized() const { return !normalized_.empty(); }

  const AddedToken* by_id(int32_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &tokens_[static_cast<size_t>(it->second)];
  }
  const AddedToken* by_content(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, int32_t> by_id_;  // id -> index in tokens_
  std::unordered_map<std::string, int32_t> by_content_;
  TokenMatcher raw_, normalized_;
  std::shared_ptr<const Regex> word_char_;
};

// Parses "added_tokens" (absent/null = none); throws Error{bad_format}.
std::vector<AddedToken> parse_added_tokens(const nlohmann::json& j);

}  // namespace mvl::llm
