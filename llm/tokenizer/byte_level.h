// GPT-2's reversible byte <-> printable-character table used by ByteLevel pre-tokenizers,
// normalizers and decoders: printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100.. in byte order, so every byte becomes one visible character.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mvl::llm {

class ByteLevelTable {
 public:
  static const ByteLevelTable& get();

  // UTF-8 of the character for byte b (1 or 2 bytes).
  std::string_view encode(unsigned char b) const { return {enc_[b].data(), enc_len_[b]}; }
  // Appends the mapped form of every byte of `bytes`.
  void encode_append(std::string_view bytes, std::string& out) const {
    for (unsigned char b : bytes) out.append(enc_[b].data(), enc_len_[b]);
  }
  // Byte for code point cp, or -1 when cp is not one of the 256 mapped characters.
  int decode(uint32_t cp) const { return cp < dec_.size() ? dec_[cp] : -1; }

 private:
  ByteLevelTable();
  std::array<std::array<char, 2>, 256> enc_{};
  std::array<uint8_t, 256> enc_len_{};
  std::array<int16_t, 512> dec_{};
};

}  // namespace mvl::llm
