// PCRE2 (UTF + UCP, JIT) wrapper for the tokenizer's Split patterns. Patterns are written for
// Oniguruma (what Hugging Face tokenizers uses); translate_onig_pattern() rewrites the few
// constructs whose meaning differs in PCRE2 (\s, \S) so that matches are identical.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mvl::llm {

// Per-thread match state (match data + JIT stack); one per concurrent encode call.
class RegexScratch {
 public:
  RegexScratch();
  ~RegexScratch();
  RegexScratch(const RegexScratch&) = delete;
  RegexScratch& operator=(const RegexScratch&) = delete;
  void* match_data() const { return match_data_; }
  // Created on first use: decoding usually never runs a regex, and the JIT stack reserves
  // address space.
  void* match_context();

 private:
  void* match_data_ = nullptr;     // pcre2_match_data_8*
  void* match_context_ = nullptr;  // pcre2_match_context_8* with the JIT stack assigned
  void* jit_stack_ = nullptr;      // pcre2_jit_stack_8*
};

class Regex {
 public:
  // Compiles `pattern` (Oniguruma syntax as found in tokenizer.json); throws Error{bad_format}
  // with PCRE2's message and offset when it does not compile.
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Calls fn(start, end) for every match in `text` (valid UTF-8), left to right, with
  // Oniguruma's find_iter rule for empty matches. Returns the number of matches.
  template <typename Fn>
  void for_each_match(std::string_view text, RegexScratch& scratch, Fn&& fn) const {
    size_t pos = 0;
    size_t last_match_end = static_cast<size_t>(-1);
    while (pos <= text.size()) {
      size_t s, e;
      if (!find(text, pos, scratch, s, e)) break;
      if (s == e && last_match_end == pos) {
        // An empty match right after the previous match is skipped (no infinite loops).
        if (pos >= text.size()) break;
        pos += next_char_len(text, pos);
        continue;
      }
      fn(s, e);
      pos = e;
      last_match_end = e;
    }
  }

  // True when the pattern matches at the start of `text` (anchored; allocates its own match
  // state, for rare checks off the hot path).
  bool matches_start(std::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  bool find(std::string_view text, size_t from, RegexScratch& scratch, size_t& s, size_t& e) const;
  static size_t next_char_len(std::string_view text, size_t pos);

  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
  bool jit_ = false;
};

// Rewrites Oniguruma-only semantics into PCRE2 syntax (see the file comment).
std::string translate_onig_pattern(std::string_view pattern);

// Escapes a literal string for use inside a PCRE2 pattern.
std::string regex_escape(std::string_view literal);

// Parses the shared part of a tokenizer.json "Replace" step (normalizer or decoder):
// {"pattern": {"Regex": s} | {"String": s}, "content": s}. Stores the replacement in *content
// and returns the compiled pattern, or null for an empty literal (a no-op). Throws
// Error{bad_format} naming `where`.
std::shared_ptr<const Regex> parse_replace_step(const nlohmann::json& j, const std::string& where,
                                                std::string* content);

}  // namespace mvl::llm
