// TextTokenizer: llm::Tokenizer behind a plain interface.
#include "app/engine/loading/text_tokenizer.h"

#include "llm/tokenizer/tokenizer.h"

namespace mvl::engine {

struct TextTokenizer::Impl {
  llm::Tokenizer tok;
};

TextTokenizer TextTokenizer::from_file(const std::string& path) {
  TextTokenizer t;
  t.impl_ = std::make_shared<const Impl>(Impl{llm::Tokenizer::from_file(path)});
  return t;
}

std::vector<int32_t> TextTokenizer::encode(const std::string& text, bool parse_special) const {
  return impl_->tok.encode(text, parse_special);
}

std::string TextTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  return impl_->tok.decode(ids, skip_special);
}

int64_t TextTokenizer::vocab_size() const { return impl_->tok.vocab_size(); }

bool TextTokenizer::has_id(int32_t id) const { return impl_->tok.has_id(id); }

}  // namespace mvl::engine
