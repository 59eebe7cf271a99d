// Streaming detokenization: push one generated id at a time and get back only text that is
// final and valid UTF-8 (a character split across byte tokens is held until complete). The
// concatenation of all pieces plus flush() equals Tokenizer::decode of all ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "llm/tokenizer/tokenizer.h"
#include "llm/tokenizer/utf8.h"

namespace mvl::llm {

class IncrementalDetokenizer {
 public:
  // Keeps a reference: `tokenizer` must outlive this object.
  IncrementalDetokenizer(const Tokenizer& tokenizer, bool skip_special);

  // Newly completed text (possibly empty).
  std::string push(int32_t id);
  // Whatever is still held back (an incomplete UTF-8 tail becomes U+FFFD, as decode does).
  std::string flush();
  // Forget everything (start of a new answer).
  void reset();

 private:
  const Tokenizer* tok_;
  bool skip_special_;
  bool byte_mode_;
  // Byte mode (ByteLevel decoder): per-token bytes through a streaming lossy UTF-8 decoder.
  utf8::LossyDecoder lossy_;
  std::string bytes_;
  // General mode (other decoders, e.g. ByteFallback+Strip): re-decode all ids and emit the
  // new suffix, holding back while a run of byte tokens is open and any trailing U+FFFD.
  // Quadratic in the answer length; byte-level BPEs (MiniMax) always take byte mode.
  std::vector<int32_t> ids_;
  size_t emitted_ = 0;
};

}  // namespace mvl::llm
