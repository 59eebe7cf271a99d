// Decoder parsing and the decode chain.
#include "llm/tokenizer/decoder.h"

#include <fmt/format.h>

#include "kernels/core/error.h"
#include "llm/tokenizer/byte_level.h"
#include "llm/tokenizer/utf8.h"

namespace mvl::llm {
namespace {

using Json = nlohmann::json;
using Kind = DecoderStep::Kind;

[[noreturn]] void bad(const std::string& msg) {
  throw_error(ErrorCategory::bad_format, msg);
}

// "<0xAB>" -> 0xAB, as Hugging Face's ByteFallback recognises byte tokens.
int parse_byte_token(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  int v = 0;
  for (int k = 3; k < 5; ++k) {
    const char c = t[static_cast<size_t>(k)];
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else if (k == 3 && c == '+')
      continue;  // from_str_radix accepts a leading '+'
    else
      return -1;
    v = v * 16 + d;
  }
  return v;
}

size_t get_count(const Json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned())
    bad(fmt::format("{}.{}: expected a non-negative integer", where, key));
  return it->get<size_t>();
}

}  // namespace

void byte_level_token_bytes(std::string_view token, std::string& out) {
  const ByteLevelTable& t = ByteLevelTable::get();
  const size_t mark = out.size();
  size_t i = 0;
  while (i < token.size()) {
    const int b = t.decode(utf8::next_code_point(token, i));
    if (b < 0) {
      out.resize(mark);
      out.append(token);
      return;
    }
    out.push_back(static_cast<char>(b));
  }
}

Decoder Decoder::from_json(const Json& j) {
  Decoder d;
  if (!j.is_null()) {
    d.present_ = true;
    d.add(j, "decoder");
  }
  return d;
}

void Decoder::add(const Json& j, const std::string& where) {
  if (!j.is_object()) bad(fmt::format("{}: expected an object, got {}", where, j.type_name()));
  auto t = j.find("type");
  if (t == j.end() || !t->is_string()) bad(fmt::format("{}.type: missing or not a string", where));
  const std::string type = t->get<std::string>();
  DecoderStep s;
  if (type == "Sequence") {
    auto it = j.find("decoders");
    if (it == j.end() || !it->is_array()) bad(fmt::format("{}.decoders: expected an array", where));
    for (size_t i = 0; i < it->size(); ++i) add((*it)[i], fmt::format("{}.decoders[{}]", where, i));
    return;
  }
  if (type == "ByteLevel") {
    s.kind = Kind::byte_level;
  } else if (type == "ByteFallback") {
    s.kind = Kind::byte_fallback;
  } else if (type == "Fuse") {
    s.kind = Kind::fuse;
  } else if (type == "Strip") {
    s.kind = Kind::strip;
    auto c = j.find("content");
    if (c == j.end() || !c->is_string())
      bad(fmt::format("{}.content: expected a one-character string", where));
    s.content = c->get<std::string>();
    size_t i = 0;
    if (s.content.empty() || !utf8::is_valid(s.content) ||
        (utf8::next_code_point(s.content, i), i != s.content.size())) {
      bad(fmt::format("{}.content: expected exactly one character, got '{}'", where, s.content));
    }
    s.start = get_count(j, "start", where);
    s.stop = get_count(j, "stop", where);
  } else if (type == "Replace") {
    s.kind = Kind::replace;
    s.pattern = parse_replace_step(j, where, &s.content);
    if (!s.pattern) return;  // an empty literal pattern replaces nothing: drop the step
  } else {
    throw_error(
        ErrorCategory::unsupported,
        fmt::format("{}: decoder type '{}' is not supported (supported: ByteLevel, ByteFallback, "
                    "Fuse, Strip, Replace, Sequence)",
                    where, type));
  }
  steps_.push_back(std::move(s));
}

std::string Decoder::decode(std::vector<std::string> tokens, RegexScratch& rs) const {
  if (!present_) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) out.push_back(' ');
      out += tokens[i];
    }
    return out;
  }
  for (const DecoderStep& st : steps_) {
    switch (st.kind) {
      case Kind::byte_level: {
        std::string bytes;
        for (const auto& t : tokens) byte_level_token_bytes(t, bytes);
        tokens.assign(1, utf8::to_valid_lossy(bytes));
        break;
      }
      case Kind::byte_fallback: {
        std::vector<std::string> out;
        std::string pending;
        auto flush = [&] {
          if (pending.empty()) return;
          if (utf8::is_valid(pending)) {
            out.push_back(pending);
          } else {
            for (size_t k = 0; k < pending.size(); ++k) out.emplace_back(utf8::kReplacement);
          }
          pending.clear();
        };
        for (auto& t : tokens) {
          const int b = parse_byte_token(t);
          if (b >= 0) {
            pending.push_back(static_cast<char>(b));
          } else {
            flush();
            out.push_back(std::move(t));
          }
        }
        flush();
        tokens.swap(out);
        break;
      }
      case Kind::fuse: {
        std::string all;
        for (const auto& t : tokens) all += t;
        tokens.assign(1, std::move(all));
        break;
      }
      case Kind::strip: {
        for (auto& t : tokens) {
          // Work on characters: strip up to `start` leading and `stop` trailing copies.
          std::vector<std::pair<size_t, size_t>> chars;
          for (size_t i = 0; i < t.size();) {
            const size_t b = i;
            utf8::next_code_point(t, i);
            chars.emplace_back(b, i);
          }
          auto is_c = [&](size_t k) {
            return t.compare(chars[k].first, chars[k].second - chars[k].first, st.content) == 0;
          };
          size_t first = 0;
          while (first < chars.size() && first < st.start && is_c(first)) ++first;
          size_t last = chars.size();
          for (size_t n = 0; n < st.stop && last > 0 && is_c(last - 1); ++n) --last;
          if (last <= first) {
            t.clear();
          } else {
            const size_t b = chars[first].first;
            const size_t e = chars[last - 1].second;
            t = t.substr(b, e - b);
          }
        }
        break;
      }
      case Kind::replace: {
        for (auto& t : tokens) {
          std::string out;
          size_t prev = 0;
          st.pattern->for_each_match(t, rs, [&](size_t b, size_t e) {
            out.append(t, prev, b - prev);
            out.append(st.content);
            prev = e;
          });
          out.append(t, prev, std::string::npos);
          t.swap(out);
        }
        break;
      }
    }
  }
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

}  // namespace mvl::llm
