// Pre-tokenizer parsing and the depth-first stage runner (see pre_tokenizer.h).
#include "llm/tokenizer/pre_tokenizer.h"

#include <fmt/format.h>

#include <algorithm>

#include "kernels/core/error.h"
#include "llm/tokenizer/byte_level.h"

namespace mvl::llm {
namespace {

using Json = nlohmann::json;

// The regex GPT-2's ByteLevel pre-tokenizer applies when use_regex is true.
constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

[[noreturn]] void bad(const std::string& msg) {
  throw_error(ErrorCategory::bad_format, msg);
}

bool flag(const Json& j, const char* key, bool dflt, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_boolean())
    bad(fmt::format("{}.{}: expected true/false, got {}", where, key, it->type_name()));
  return it->get<bool>();
}

PreTokenStage make_stage(PreTokenStage::Kind kind) {
  PreTokenStage s;
  s.kind = kind;
  return s;
}

SplitBehavior parse_behavior(const Json& j, const std::string& where) {
  auto it = j.find("behavior");
  if (it == j.end() || !it->is_string()) bad(fmt::format("{}.behavior: expected a string", where));
  const std::string b = it->get<std::string>();
  if (b == "Removed") return SplitBehavior::removed;
  if (b == "Isolated") return SplitBehavior::isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (b == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (b == "Contiguous") return SplitBehavior::contiguous;
  bad(
      fmt::format("{}.behavior: unknown split behavior '{}' (expected Removed, Isolated, "
                  "MergedWithPrevious, MergedWithNext or Contiguous)",
                  where, b));
}

}  // namespace

PreTokenizer PreTokenizer::from_json(const Json& j) {
  PreTokenizer p;
  if (!j.is_null()) p.add(j, "pre_tokenizer");
  for (size_t k = 0; k < p.stages_.size(); ++k) {
    if (p.stages_[k].kind == PreTokenStage::Kind::split) p.split_end_ = k + 1;
  }
  return p;
}

void PreTokenizer::add(const Json& j, const std::string& where) {
  if (!j.is_object()) bad(fmt::format("{}: expected an object, got {}", where, j.type_name()));
  auto t = j.find("type");
  if (t == j.end() || !t->is_string()) bad(fmt::format("{}.type: missing or not a string", where));
  const std::string type = t->get<std::string>();
  if (type == "Sequence") {
    auto it = j.find("pretokenizers");
    if (it == j.end() || !it->is_array())
      bad(fmt::format("{}.pretokenizers: expected an array", where));
    for (size_t i = 0; i < it->size(); ++i)
      add((*it)[i], fmt::format("{}.pretokenizers[{}]", where, i));
  } else if (type == "ByteLevel") {
    if (flag(j, "add_prefix_space", true, where))
      stages_.push_back(make_stage(PreTokenStage::Kind::prefix_space));
    if (flag(j, "use_regex", true, where)) {
      PreTokenStage s;
      s.regex = std::make_shared<Regex>(kGpt2Pattern);
      stages_.push_back(s);
    }
    stages_.push_back(make_stage(PreTokenStage::Kind::byte_map));
  } else if (type == "Split") {
    PreTokenStage s;
    auto pat = j.find("pattern");
    if (pat == j.end() || !pat->is_object() || pat->size() != 1) {
      bad(fmt::format("{}.pattern: expected {{\"Regex\": ...}} or {{\"String\": ...}}", where));
    }
    if (auto r = pat->find("Regex"); r != pat->end() && r->is_string()) {
      s.regex = in_context(where + ".pattern",
                           [&] { return std::make_shared<Regex>(r->get<std::string>()); });
    } else if (auto str = pat->find("String"); str != pat->end() && str->is_string()) {
      const std::string lit = str->get<std::string>();
      if (lit.empty()) return;  // an empty literal never matches: the split is a no-op
      s.regex = std::make_shared<Regex>(regex_escape(lit));
    } else {
      bad(fmt::format("{}.pattern: expected {{\"Regex\": string}} or {{\"String\": string}}",
                      where));
    }
    s.behavior = parse_behavior(j, where);
    s.invert = flag(j, "invert", false, where);
    stages_.push_back(s);
  } else if (type == "Digits") {
    // char::is_numeric per character; grouped runs equal one \p{N}+ match.
    PreTokenStage s;
    s.regex =
        std::make_shared<Regex>(flag(j, "individual_digits", false, where) ? "\\p{N}" : "\\p{N}+");
    stages_.push_back(s);
  } else if (type == "WhitespaceSplit") {
    PreTokenStage s;
    s.regex = std::make_shared<Regex>("\\s+");
    s.behavior = SplitBehavior::removed;
    stages_.push_back(s);
  } else {
    throw_error(ErrorCategory::unsupported,
                fmt::format("{}: pre-tokenizer type '{}' is not supported (supported: ByteLevel, "
                            "Split, Digits, WhitespaceSplit, Sequence)",
                            where, type));
  }
}

void PreTokenizer::split(std::string_view text, const Regex& re, SplitBehavior behavior,
                         bool invert, RegexScratch& rs,
                         std::vector<std::tuple<size_t, size_t, bool>>& m,
                         std::vector<std::pair<size_t, size_t>>& out) {
  // 1. (start, end, is_match) covering the whole text, as Hugging Face's find_matches.
  m.clear();
  size_t prev = 0;
  re.for_each_match(text, rs, [&](size_t s, size_t e) {
    if (prev != s) m.emplace_back(prev, s, invert);
    m.emplace_back(s, e, !invert);
    prev = e;
  });
  if (prev != text.size()) m.emplace_back(prev, text.size(), invert);

  // 2. Apply the behavior.
  out.clear();
  switch (behavior) {
    case SplitBehavior::isolated:
      for (auto& [s, e, is_m] : m) out.emplace_back(s, e);
      break;
    case SplitBehavior::removed:
      for (auto& [s, e, is_m] : m) {
        if (!is_m) out.emplace_back(s, e);
      }
      break;
    case SplitBehavior::merged_with_previous: {
      bool prev_match = false;
      for (auto& [s, e, is_m] : m) {
        if (is_m && !prev_match && !out.empty())
          out.back().second = e;
        else
          out.emplace_back(s, e);
        prev_match = is_m;
      }
      break;
    }
    case SplitBehavior::merged_with_next: {
      bool prev_match = false;
      for (size_t k = m.size(); k-- > 0;) {
        auto& [s, e, is_m] = m[k];
        if (is_m && !prev_match && !out.empty())
          out.back().first = s;
        else
          out.emplace_back(s, e);
        prev_match = is_m;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
    case SplitBehavior::contiguous: {
      bool prev_match = false;
      for (auto& [s, e, is_m] : m) {
        if (is_m == prev_match && !out.empty())
          out.back().second = e;
        else
          out.emplace_back(s, e);
        prev_match = is_m;
      }
      break;
    }
  }
  // 3. Empty pieces are dropped (PreTokenizedString::split filters them).
  size_t w = 0;
  for (auto& r : out) {
    if (r.second > r.first) out[w++] = r;
  }
  out.resize(w);
}

namespace {
void ensure_slots(PreTokenScratch& scratch, size_t n) {
  if (scratch.text.size() < n) {
    scratch.text.resize(n);
    scratch.spans.resize(n);
    scratch.matches.resize(n);
  }
}
}  // namespace

void PreTokenizer::run(std::string_view text, PreTokenScratch& scratch, const Sink& sink) const {
  run_splits(text, scratch, [&](std::string_view raw) { sink(finish(raw, scratch)); });
}

void PreTokenizer::run_splits(std::string_view text, PreTokenScratch& scratch,
                              const Sink& sink) const {
  if (text.empty()) return;
  ensure_slots(scratch, stages_.size());
  run_stage(0, text, scratch, sink);
}

std::string_view PreTokenizer::finish(std::string_view piece, PreTokenScratch& scratch) const {
  ensure_slots(scratch, stages_.size());
  for (size_t k = split_end_; k < stages_.size(); ++k) {
    std::string& buf = scratch.text[k];
    if (stages_[k].kind == PreTokenStage::Kind::prefix_space) {
      if (piece.front() == ' ') continue;
      buf.assign(1, ' ');
      buf.append(piece);
    } else {
      buf.clear();
      ByteLevelTable::get().encode_append(piece, buf);
    }
    piece = buf;
  }
  return piece;
}

void PreTokenizer::run_stage(size_t k, std::string_view piece, PreTokenScratch& scratch,
                             const Sink& sink) const {
  if (k == split_end_) {
    sink(piece);
    return;
  }
  const PreTokenStage& st = stages_[k];
  switch (st.kind) {
    case PreTokenStage::Kind::prefix_space: {
      if (piece.front() == ' ') {
        run_stage(k + 1, piece, scratch, sink);
        return;
      }
      std::string& buf = scratch.text[k];
      buf.assign(1, ' ');
      buf.append(piece);
      run_stage(k + 1, buf, scratch, sink);
      return;
    }
    case PreTokenStage::Kind::byte_map: {
      std::string& buf = scratch.text[k];
      buf.clear();
      ByteLevelTable::get().encode_append(piece, buf);
      run_stage(k + 1, buf, scratch, sink);
      return;
    }
    case PreTokenStage::Kind::split: {
      if (st.behavior == SplitBehavior::isolated && !st.invert) {
        // The common case streams: every gap and every match is its own piece.
        size_t prev = 0;
        st.regex->for_each_match(piece, scratch.regex, [&](size_t s, size_t e) {
          if (s > prev) run_stage(k + 1, piece.substr(prev, s - prev), scratch, sink);
          if (e > s) run_stage(k + 1, piece.substr(s, e - s), scratch, sink);
          prev = e;
        });
        if (prev < piece.size()) run_stage(k + 1, piece.substr(prev), scratch, sink);
        return;
      }
      auto& spans = scratch.spans[k];
      split(piece, *st.regex, st.behavior, st.invert, scratch.regex, scratch.matches[k], spans);
      // Deeper stages use their own slots, so `spans` stays intact while we iterate.
      for (size_t i = 0; i < spans.size(); ++i) {
        run_stage(k + 1, piece.substr(spans[i].first, spans[i].second - spans[i].first), scratch,
                  sink);
      }
      return;
    }
  }
}

}  // namespace mvl::llm
