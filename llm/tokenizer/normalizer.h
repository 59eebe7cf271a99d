// tokenizer.json "normalizer": NFC/NFD/NFKC/NFKD and Lowercase (through ICU), Replace,
// Prepend, Strip, ByteLevel and Sequence. Normalization is applied to each text segment
// left after added tokens are split out, exactly where Hugging Face applies it.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "llm/tokenizer/regex.h"

namespace mvl::llm {

struct NormalizerStep {
  enum class Kind { nfc, nfd, nfkc, nfkd, lowercase, replace, prepend, strip, byte_level };
  Kind kind = Kind::nfc;
  std::shared_ptr<const Regex> pattern;  // replace
  std::string content;                   // replace: replacement; prepend: prefix
  bool strip_left = false, strip_right = false;
};

class Normalizer {
 public:
  // Parses "normalizer" (null = none); throws Error{bad_format|unsupported}.
  static Normalizer from_json(const nlohmann::json& j);

  bool empty() const { return steps_.empty(); }
  // False in a build without ICU: tokenizer.json files whose normalizer has NFC/NFD/NFKC/NFKD
  // or Lowercase are then refused by from_json (Error{unsupported}, naming libicu-dev).
  static bool unicode_available();
  // Normalizes `s` (valid UTF-8) in place.
  void apply(std::string& s, RegexScratch& rs) const;

 private:
  void add(const nlohmann::json& j, const std::string& where);
  std::vector<NormalizerStep> steps_;
};

}  // namespace mvl::llm
