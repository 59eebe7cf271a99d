// Builds the GPT-2 byte <-> character table once (an immutable constant, not state).
#include "llm/tokenizer/byte_level.h"

#include "llm/tokenizer/utf8.h"

namespace mvl::llm {

const ByteLevelTable& ByteLevelTable::get() {
  static const ByteLevelTable table;
  return table;
}

ByteLevelTable::ByteLevelTable() {
  dec_.fill(-1);
  auto printable = [](int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  };
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const uint32_t cp = printable(b) ? static_cast<uint32_t>(b) : static_cast<uint32_t>(next++);
    std::string s;
    utf8::append_code_point(s, cp);
    enc_len_[b] = static_cast<uint8_t>(s.size());
    for (size_t k = 0; k < s.size(); ++k) enc_[b][k] = s[k];
    dec_[cp] = static_cast<int16_t>(b);
  }
}

}  // namespace mvl::llm
