// Added-token parsing and matching (see added_vocab.h).
#include "llm/tokenizer/added_vocab.h"

#include <fmt/format.h>

#include "kernels/core/error.h"
#include "llm/tokenizer/utf8.h"

namespace mvl::llm {
namespace {

using Json = nlohmann::json;

[[noreturn]] void bad(const std::string& msg) {
  throw_error(ErrorCategory::bad_format, msg);
}

bool is_white_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

std::string_view last_char(std::string_view s) {
  size_t b = s.size() - 1;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  return s.substr(b);
}

std::string_view first_char(std::string_view s) {
  return s.substr(0, std::min(s.size(), utf8::seq_len(static_cast<unsigned char>(s[0]))));
}

bool flag(const Json& j, const char* key, bool dflt, size_t i) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_boolean())
    bad(fmt::format("added_tokens[{}].{}: expected true/false, got {}", i, key, it->type_name()));
  return it->get<bool>();
}

}  // namespace

void TokenMatcher::add(const std::string& pattern, int32_t index) {
  if (pattern.empty()) return;
  int32_t node = 0;
  for (unsigned char c : pattern) {
    int32_t child = -1;
    for (auto& [b, n] : nodes_[static_cast<size_t>(node)].next) {
      if (b == c) child = n;
    }
    if (child < 0) {
      child = static_cast<int32_t>(nodes_.size());
      nodes_[static_cast<size_t>(node)].next.emplace_back(c, child);
      nodes_.emplace_back();
    }
    node = child;
  }
  // The first token with a given content wins, like a map insert that keeps the old value.
  if (nodes_[static_cast<size_t>(node)].index < 0) nodes_[static_cast<size_t>(node)].index = index;
  first_byte_[static_cast<unsigned char>(pattern[0])] = true;
}

void TokenMatcher::find_all(std::string_view text,
                            std::vector<std::tuple<size_t, size_t, int32_t>>& out) const {
  out.clear();
  if (empty()) return;
  size_t i = 0;
  while (i < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    int32_t node = 0;
    int32_t best = -1;
    size_t best_end = 0;
    for (size_t k = i; k < text.size(); ++k) {
      int32_t child = -1;
      for (auto& [b, n] : nodes_[static_cast<size_t>(node)].next) {
        if (b == static_cast<unsigned char>(text[k])) child = n;
      }
      if (child < 0) break;
      node = child;
      if (nodes_[static_cast<size_t>(node)].index >= 0) {
        best = nodes_[static_cast<size_t>(node)].index;
        best_end = k + 1;
      }
    }
    if (best >= 0) {
      out.emplace_back(i, best_end, best);
      i = best_end;
    } else {
      ++i;
    }
  }
}

const AddedToken* AddedVocab::by_content(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? nullptr : by_id(it->second);
}

void AddedVocab::split(std::string_view s, bool normalized_set, bool parse_special,
                       std::vector<AddedSplit>& out,
                       std::vector<std::tuple<size_t, size_t, int32_t>>& matches) const {
  out.clear();
  (normalized_set ? normalized_ : raw_).find_all(s, matches);
  size_t start_offset = 0;
  for (auto [start, stop, index] : matches) {
    const AddedToken& t = tokens_[static_cast<size_t>(index)];
    if (!parse_special && t.special) continue;
    if (t.single_word) {
      const bool start_space =
          start == 0 || !word_char_->matches_start(last_char(s.substr(0, start)));
      const bool stop_space =
          stop == s.size() || !word_char_->matches_start(first_char(s.substr(stop)));
      if (!start_space || !stop_space) continue;
    }
    if (t.lstrip) {
      size_t b = start;
      while (b > 0) {
        const std::string_view c = last_char(s.substr(0, b));
        size_t k = 0;
        if (!is_white_space(utf8::next_code_point(c, k))) break;
        b -= c.size();
      }
      start = std::max(b, start_offset);
    }
    if (t.rstrip) {
      while (stop < s.size()) {
        size_t k = stop;
        if (!is_white_space(utf8::next_code_point(s, k))) break;
        stop = k;
      }
    }
    if (start_offset < start) out.push_back({-1, start_offset, start});
    out.push_back({t.id, start, stop});
    start_offset = stop;
  }
  if (start_offset < s.size()) out.push_back({-1, start_offset, s.size()});
}

std::vector<AddedToken> parse_added_tokens(const Json& j) {
  std::vector<AddedToken> out;
  if (j.is_null()) return out;
  if (!j.is_array()) bad(fmt::format("added_tokens: expected an array, got {}", j.type_name()));
  for (size_t i = 0; i < j.size(); ++i) {
    const Json& e = j[i];
    if (!e.is_object())
      bad(fmt::format("added_tokens[{}]: expected an object, got {}", i, e.type_name()));
    auto id = e.find("id");
    if (id == e.end() || !id->is_number_integer() || id->get<int64_t>() < 0 ||
        id->get<int64_t>() > 0x7FFFFFFF) {
      bad(fmt::format("added_tokens[{}].id: expected a non-negative integer", i));
    }
    auto content = e.find("content");
    if (content == e.end() || !content->is_string() || content->get<std::string>().empty()) {
      bad(fmt::format("added_tokens[{}].content: expected a non-empty string", i));
    }
    AddedToken t;
    t.id = static_cast<int32_t>(id->get<int64_t>());
    t.content = content->get<std::string>();
    t.special = flag(e, "special", false, i);
    t.normalized = flag(e, "normalized", !t.special, i);
    t.lstrip = flag(e, "lstrip", false, i);
    t.rstrip = flag(e, "rstrip", false, i);
    t.single_word = flag(e, "single_word", false, i);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace mvl::llm
