// Normalizer parsing and application. Unicode normalization forms and lowercasing use ICU
// (when the build found it; otherwise those normalizers are reported as unsupported).
#include "llm/tokenizer/normalizer.h"

#include <fmt/format.h>

#include "kernels/core/error.h"
#include "llm/tokenizer/byte_level.h"
#include "llm/tokenizer/utf8.h"

#ifdef MVL_HAVE_ICU
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#endif

namespace mvl::llm {
namespace {

using Json = nlohmann::json;
using Kind = NormalizerStep::Kind;

[[noreturn]] void bad(const std::string& msg) {
  throw_error(ErrorCategory::bad_format, msg);
}

// Rust's char::is_whitespace (the Unicode White_Space property).
bool is_white_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

#ifdef MVL_HAVE_ICU
std::u16string to_u16(const std::string& s) {
  UErrorCode err = U_ZERO_ERROR;
  int32_t n = 0;
  u_strFromUTF8(nullptr, 0, &n, s.data(), static_cast<int32_t>(s.size()), &err);
  std::u16string out(static_cast<size_t>(n), u'\0');
  err = U_ZERO_ERROR;
  u_strFromUTF8(reinterpret_cast<UChar*>(out.data()), n, nullptr, s.data(),
                static_cast<int32_t>(s.size()), &err);
  MVL_CHECK(U_SUCCESS(err), internal, "UTF-8 to UTF-16 conversion failed: {}", u_errorName(err));
  return out;
}

std::string to_u8(const std::u16string& s) {
  UErrorCode err = U_ZERO_ERROR;
  int32_t n = 0;
  const auto* src = reinterpret_cast<const UChar*>(s.data());
  u_strToUTF8(nullptr, 0, &n, src, static_cast<int32_t>(s.size()), &err);
  std::string out(static_cast<size_t>(n), '\0');
  err = U_ZERO_ERROR;
  u_strToUTF8(out.data(), n, nullptr, src, static_cast<int32_t>(s.size()), &err);
  MVL_CHECK(U_SUCCESS(err), internal, "UTF-16 to UTF-8 conversion failed: {}", u_errorName(err));
  return out;
}

void icu_apply(Kind kind, std::string& s) {
  const std::u16string in = to_u16(s);
  std::u16string out(in.size() * 4 + 16, u'\0');
  int32_t n = 0;
  UErrorCode err = U_ZERO_ERROR;
  // Some characters expand a lot under NFKC (up to 18 code units); retry with the size ICU
  // asks for when the first guess is too small.
  for (int attempt = 0; attempt < 2; ++attempt) {
    err = U_ZERO_ERROR;
    if (kind == Kind::lowercase) {
      n = u_strToLower(reinterpret_cast<UChar*>(out.data()), static_cast<int32_t>(out.size()),
                       reinterpret_cast<const UChar*>(in.data()), static_cast<int32_t>(in.size()),
                       "", &err);
    } else {
      const UNormalizer2* norm = kind == Kind::nfc    ? unorm2_getNFCInstance(&err)
                                 : kind == Kind::nfd  ? unorm2_getNFDInstance(&err)
                                 : kind == Kind::nfkc ? unorm2_getNFKCInstance(&err)
                                                      : unorm2_getNFKDInstance(&err);
      MVL_CHECK(U_SUCCESS(err), internal, "ICU normalizer unavailable: {}", u_errorName(err));
      n = unorm2_normalize(norm, reinterpret_cast<const UChar*>(in.data()),
                           static_cast<int32_t>(in.size()), reinterpret_cast<UChar*>(out.data()),
                           static_cast<int32_t>(out.size()), &err);
    }
    if (err != U_BUFFER_OVERFLOW_ERROR) break;
    out.assign(static_cast<size_t>(n) + 1, u'\0');
  }
  MVL_CHECK(U_SUCCESS(err), internal, "ICU normalization failed: {}", u_errorName(err));
  out.resize(static_cast<size_t>(n));
  s = to_u8(out);
}
#endif

}  // namespace

bool Normalizer::unicode_available() {
#ifdef MVL_HAVE_ICU
  return true;
#else
  return false;
#endif
}

Normalizer Normalizer::from_json(const Json& j) {
  Normalizer n;
  if (!j.is_null()) n.add(j, "normalizer");
  return n;
}

void Normalizer::add(const Json& j, const std::string& where) {
  if (!j.is_object()) bad(fmt::format("{}: expected an object, got {}", where, j.type_name()));
  auto t = j.find("type");
  if (t == j.end() || !t->is_string()) bad(fmt::format("{}.type: missing or not a string", where));
  const std::string type = t->get<std::string>();
  NormalizerStep s;
  if (type == "Sequence") {
    auto it = j.find("normalizers");
    if (it == j.end() || !it->is_array())
      bad(fmt::format("{}.normalizers: expected an array", where));
    for (size_t i = 0; i < it->size(); ++i)
      add((*it)[i], fmt::format("{}.normalizers[{}]", where, i));
    return;
  }
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD" || type == "Lowercase") {
#ifndef MVL_HAVE_ICU
    throw_error(ErrorCategory::unsupported,
                fmt::format("{}: normalizer '{}' needs ICU, and this build has none; install "
                            "libicu-dev and rebuild",
                            where, type));
#endif
    s.kind = type == "NFC"    ? Kind::nfc
             : type == "NFD"  ? Kind::nfd
             : type == "NFKC" ? Kind::nfkc
             : type == "NFKD" ? Kind::nfkd
                              : Kind::lowercase;
  } else if (type == "Replace") {
    s.kind = Kind::replace;
    s.pattern = parse_replace_step(j, where, &s.content);
    if (!s.pattern) return;  // an empty literal pattern replaces nothing: drop the step
  } else if (type == "Prepend") {
    s.kind = Kind::prepend;
    auto p = j.find("prepend");
    if (p == j.end() || !p->is_string()) bad(fmt::format("{}.prepend: expected a string", where));
    s.content = p->get<std::string>();
  } else if (type == "Strip") {
    s.kind = Kind::strip;
    auto l = j.find("strip_left");
    auto r = j.find("strip_right");
    if (l == j.end() || !l->is_boolean() || r == j.end() || !r->is_boolean()) {
      bad(fmt::format("{}: strip_left/strip_right must be true/false", where));
    }
    s.strip_left = l->get<bool>();
    s.strip_right = r->get<bool>();
  } else if (type == "ByteLevel") {
    s.kind = Kind::byte_level;
  } else {
    throw_error(
        ErrorCategory::unsupported,
        fmt::format("{}: normalizer type '{}' is not supported (supported: NFC, NFD, NFKC, NFKD, "
                    "Lowercase, Replace, Prepend, Strip, ByteLevel, Sequence)",
                    where, type));
  }
  steps_.push_back(std::move(s));
}

void Normalizer::apply(std::string& s, RegexScratch& rs) const {
  for (const NormalizerStep& st : steps_) {
    switch (st.kind) {
      case Kind::nfc:
      case Kind::nfd:
      case Kind::nfkc:
      case Kind::nfkd:
      case Kind::lowercase:
#ifdef MVL_HAVE_ICU
        icu_apply(st.kind, s);
#endif
        break;
      case Kind::replace: {
        std::string out;
        size_t prev = 0;
        st.pattern->for_each_match(s, rs, [&](size_t b, size_t e) {
          out.append(s, prev, b - prev);
          out.append(st.content);
          prev = e;
        });
        out.append(s, prev, std::string::npos);
        s.swap(out);
        break;
      }
      case Kind::prepend:
        if (!s.empty()) s.insert(0, st.content);
        break;
      case Kind::strip: {
        size_t b = 0, e = s.size();
        if (st.strip_left) {
          while (b < e) {
            size_t i = b;
            if (!is_white_space(utf8::next_code_point(s, i))) break;
            b = i;
          }
        }
        if (st.strip_right) {
          while (e > b) {
            size_t start = e - 1;
            while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
            size_t i = start;
            if (!is_white_space(utf8::next_code_point(s, i))) break;
            e = start;
          }
        }
        s = s.substr(b, e - b);
        break;
      }
      case Kind::byte_level: {
        std::string out;
        ByteLevelTable::get().encode_append(s, out);
        s.swap(out);
        break;
      }
    }
  }
}

}  // namespace mvl::llm
