// UTF-8 validation, code point iteration and the from_utf8_lossy-compatible streaming decoder.
#include "llm/tokenizer/utf8.h"

namespace mvl::llm::utf8 {
namespace {

// Valid range of the second byte for a lead byte (Unicode Table 3-7); 0,0 for non-leads.
void second_byte_range(unsigned char lead, unsigned char& lo, unsigned char& hi) {
  lo = 0x80;
  hi = 0xBF;
  if (lead == 0xE0)
    lo = 0xA0;
  else if (lead == 0xED)
    hi = 0x9F;
  else if (lead == 0xF0)
    lo = 0x90;
  else if (lead == 0xF4)
    hi = 0x8F;
}

bool is_lead(unsigned char b) {
  return b >= 0xC2 && b <= 0xF4;
}

// How many bytes of s (starting at a lead byte) form a valid prefix of one sequence:
// returns n == need when complete, n < need when it stops early (invalid or truncated).
size_t valid_prefix(const unsigned char* s, size_t avail, size_t need) {
  size_t n = 1;
  unsigned char lo, hi;
  second_byte_range(s[0], lo, hi);
  while (n < need && n < avail) {
    const unsigned char c = s[n];
    if (n == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) break;
    ++n;
  }
  return n;
}

}  // namespace

size_t find_invalid(std::string_view sv) {
  const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
  const size_t n = sv.size();
  size_t i = 0;
  while (i < n) {
    // Fast path over ASCII, 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char b = s[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    if (!is_lead(b)) return i;
    const size_t need = seq_len(b);
    if (valid_prefix(s + i, n - i, need) != need) return i;
    i += need;
  }
  return std::string_view::npos;
}

uint32_t next_code_point(std::string_view sv, size_t& i) {
  const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
  const unsigned char b = s[i];
  if (b < 0x80) {
    ++i;
    return b;
  }
  const size_t len = seq_len(b);
  uint32_t cp = b & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < len && i + k < sv.size(); ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
  i += len;
  return cp;
}

void append_code_point(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void LossyDecoder::push(std::string_view bytes, std::string& out) {
  size_t i = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  // Complete (or reject) the sequence left over from the previous call first.
  while (pending_len_ > 0 && i < bytes.size()) {
    pending_[pending_len_++] = s[i++];
    const size_t need = seq_len(pending_[0]);
    const size_t got = valid_prefix(pending_, pending_len_, need);
    if (got == need) {
      out.append(reinterpret_cast<const char*>(pending_), need);
      pending_len_ = 0;
    } else if (got < pending_len_) {
      // The new byte broke the sequence: the valid prefix becomes one U+FFFD and the
      // breaking byte is decoded afresh (it may start a new sequence).
      out.append(kReplacement);
      pending_len_ = 0;
      --i;
    }
  }
  while (i < bytes.size()) {
    const size_t start = i;
    while (i < bytes.size() && s[i] < 0x80) ++i;
    if (i > start) out.append(bytes.data() + start, i - start);
    if (i >= bytes.size()) break;
    const unsigned char b = s[i];
    if (!is_lead(b)) {
      out.append(kReplacement);
      ++i;
      continue;
    }
    const size_t need = seq_len(b);
    const size_t avail = bytes.size() - i;
    const size_t got = valid_prefix(s + i, avail, need);
    if (got == need) {
      out.append(bytes.data() + i, need);
      i += need;
    } else if (got == avail) {
      // Truncated at the end of this chunk: keep it, the next chunk may complete it.
      for (size_t k = 0; k < got; ++k) pending_[k] = s[i + k];
      pending_len_ = got;
      i += got;
    } else {
      out.append(kReplacement);
      i += got;
    }
  }
}

void LossyDecoder::finish(std::string& out) {
  if (pending_len_ > 0) out.append(kReplacement);
  pending_len_ = 0;
}

std::string to_valid_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  LossyDecoder d;
  d.push(bytes, out);
  d.finish(out);
  return out;
}

}  // namespace mvl::llm::utf8
