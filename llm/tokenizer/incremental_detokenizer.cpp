// Streaming detokenizer (see incremental_detokenizer.h).
#include "llm/tokenizer/incremental_detokenizer.h"

namespace mvl::llm {

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer& tokenizer, bool skip_special)
    : tok_(&tokenizer), skip_special_(skip_special), byte_mode_(tokenizer.streams_bytes()) {}

void IncrementalDetokenizer::reset() {
  lossy_ = utf8::LossyDecoder();
  ids_.clear();
  emitted_ = 0;
}

std::string IncrementalDetokenizer::push(int32_t id) {
  std::string out;
  if (byte_mode_) {
    bytes_.clear();
    tok_->token_bytes(id, skip_special_, bytes_);
    lossy_.push(bytes_, out);
    return out;
  }
  ids_.push_back(id);
  // A ByteFallback decoder validates a whole run of <0xXX> tokens at once (an invalid run
  // becomes one U+FFFD per byte), so nothing is final until the run ends.
  const std::string tok = tok_->id_to_token(id);
  if (tok.size() == 6 && tok.compare(0, 3, "<0x") == 0 && tok[5] == '>') return out;
  const std::string text = tok_->decode(ids_, skip_special_);
  size_t end = text.size();
  // Hold back trailing replacement characters: they may be bytes of a character whose
  // remaining byte tokens have not arrived yet.
  while (end >= emitted_ + utf8::kReplacement.size() &&
         std::string_view(text).substr(end - utf8::kReplacement.size(),
                                       utf8::kReplacement.size()) == utf8::kReplacement) {
    end -= utf8::kReplacement.size();
  }
  if (end > emitted_) {
    out = text.substr(emitted_, end - emitted_);
    emitted_ = end;
  }
  return out;
}

std::string IncrementalDetokenizer::flush() {
  std::string out;
  if (byte_mode_) {
    lossy_.finish(out);
  } else {
    const std::string text = tok_->decode(ids_, skip_special_);
    if (text.size() > emitted_) out = text.substr(emitted_);
    ids_.clear();
    emitted_ = 0;
  }
  return out;
}

}  // namespace mvl::llm
