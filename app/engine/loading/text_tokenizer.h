// A checkpoint's tokenizer.json for front ends that work on ids without a model (`tokenize`,
// `detokenize`): encode/decode exactly as Hugging Face tokenizers do. Keeps llm/ behind
// app/engine; the engine itself reaches it through PromptCodec.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mvl::engine {

class TextTokenizer {
 public:
  // Throws Error naming the file for a missing or malformed tokenizer.json.
  static TextTokenizer from_file(const std::string& path);
  // parse_special: text like "<image>" becomes its special id (else plain text).
  std::vector<int32_t> encode(const std::string& text, bool parse_special) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const;
  int64_t vocab_size() const;  // max id + 1
  bool has_id(int32_t id) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace mvl::engine
