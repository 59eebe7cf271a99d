// PCRE2 compile/match for tokenizer patterns, with JIT and a growable JIT stack so long
// words (thousands of letters) do not overflow the default 32 KiB stack.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "llm/tokenizer/regex.h"

#include <pcre2.h>

#include "kernels/core/error.h"
#include "llm/tokenizer/utf8.h"

namespace mvl::llm {
namespace {

// Oniguruma's \s in Unicode mode is the White_Space property; PCRE2 10.42's \s (with UCP)
// leaves out U+0085 (NEL). Spelling the set out makes both engines agree.
constexpr std::string_view kSpaceSet =
    "\\t\\n\\x0B\\f\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  const int n = pcre2_get_error_message(code, buf, sizeof(buf));
  return n > 0 ? std::string(reinterpret_cast<const char*>(buf), static_cast<size_t>(n))
               : "unknown PCRE2 error " + std::to_string(code);
}

}  // namespace

std::string translate_onig_pattern(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 64);
  int class_depth = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char n = p[i + 1];
      if (n == 's') {
        if (class_depth > 0)
          out.append(kSpaceSet);
        else
          out.append("[").append(kSpaceSet).append("]");
      } else if (n == 'S' && class_depth == 0) {
        out.append("[^").append(kSpaceSet).append("]");
      } else {
        out.push_back(c);
        out.push_back(n);
      }
      ++i;
      continue;
    }
    if (c == '[') {
      ++class_depth;
      out.push_back(c);
      // A ']' right after '[' or '[^' is a literal in both engines.
      if (i + 1 < p.size() && p[i + 1] == '^') out.push_back(p[++i]);
      if (i + 1 < p.size() && p[i + 1] == ']') out.push_back(p[++i]);
      continue;
    }
    if (c == ']' && class_depth > 0) --class_depth;
    out.push_back(c);
  }
  return out;
}

std::string regex_escape(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}-/").find(c) != std::string_view::npos)
      out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

RegexScratch::RegexScratch() {
  match_data_ = pcre2_match_data_create(2, nullptr);
  MVL_CHECK(match_data_ != nullptr, out_of_memory, "cannot allocate PCRE2 match data");
}

void* RegexScratch::match_context() {
  if (!match_context_) {
    jit_stack_ = pcre2_jit_stack_create(32 * 1024, 16 * 1024 * 1024, nullptr);
    match_context_ = pcre2_match_context_create(nullptr);
    MVL_CHECK(jit_stack_ && match_context_, out_of_memory, "cannot allocate PCRE2 match state");
    pcre2_jit_stack_assign(static_cast<pcre2_match_context*>(match_context_), nullptr, jit_stack_);
  }
  return match_context_;
}

RegexScratch::~RegexScratch() {
  pcre2_match_data_free(static_cast<pcre2_match_data*>(match_data_));
  pcre2_match_context_free(static_cast<pcre2_match_context*>(match_context_));
  pcre2_jit_stack_free(static_cast<pcre2_jit_stack*>(jit_stack_));
}

Regex::Regex(const std::string& pattern) : pattern_(pattern) {
  const std::string translated = translate_onig_pattern(pattern);
  int err = 0;
  PCRE2_SIZE off = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                        PCRE2_UTF | PCRE2_UCP, &err, &off, nullptr);
  if (!code_) {
    throw_error(ErrorCategory::bad_format,
                fmt::format("regex '{}' does not compile: {} (at offset {})", pattern,
                            pcre2_message(err), off));
  }
  jit_ = pcre2_jit_compile(static_cast<pcre2_code*>(code_), PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() {
  pcre2_code_free(static_cast<pcre2_code*>(code_));
}

bool Regex::matches_start(std::string_view text) const {
  pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
  MVL_CHECK(md != nullptr, out_of_memory, "cannot allocate PCRE2 match data");
  const int rc =
      pcre2_match(static_cast<pcre2_code*>(code_), reinterpret_cast<PCRE2_SPTR>(text.data()),
                  text.size(), 0, PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, md, nullptr);
  pcre2_match_data_free(md);
  return rc >= 0;
}

size_t Regex::next_char_len(std::string_view text, size_t pos) {
  return utf8::seq_len(static_cast<unsigned char>(text[pos]));
}

bool Regex::find(std::string_view text, size_t from, RegexScratch& scratch, size_t& s,
                 size_t& e) const {
  auto* code = static_cast<pcre2_code*>(code_);
  auto* md = static_cast<pcre2_match_data*>(scratch.match_data());
  auto* mc = static_cast<pcre2_match_context*>(scratch.match_context());
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  int rc;
  if (jit_) {
    rc = pcre2_jit_match(code, subject, text.size(), from, 0, md, mc);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      // Pathologically long run: fall back to the interpreter (heap-based backtracking).
      rc = pcre2_match(code, subject, text.size(), from, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md,
                       nullptr);
    }
  } else {
    rc = pcre2_match(code, subject, text.size(), from, PCRE2_NO_UTF_CHECK, md, nullptr);
  }
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  MVL_CHECK(rc >= 0, internal, "regex '{}' failed on a {}-byte text: {}", pattern_, text.size(),
            pcre2_message(rc));
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
  s = ov[0];
  e = ov[1];
  return true;
}

std::shared_ptr<const Regex> parse_replace_step(const nlohmann::json& j, const std::string& where,
                                                std::string* content) {
  auto bad = [](const std::string& msg) { throw_error(ErrorCategory::bad_format, msg); };
  auto pat = j.find("pattern");
  auto c = j.find("content");
  if (c == j.end() || !c->is_string()) bad(fmt::format("{}.content: expected a string", where));
  *content = c->get<std::string>();
  if (pat != j.end() && pat->is_object() && pat->contains("Regex") && (*pat)["Regex"].is_string()) {
    return in_context(where + ".pattern",
                      [&] { return std::make_shared<const Regex>((*pat)["Regex"].get<std::string>()); });
  }
  if (pat != j.end() && pat->is_object() && pat->contains("String") && (*pat)["String"].is_string()) {
    const std::string lit = (*pat)["String"].get<std::string>();
    if (lit.empty()) return nullptr;
    return std::make_shared<const Regex>(regex_escape(lit));
  }
  bad(fmt::format("{}.pattern: expected {{\"Regex\": string}} or {{\"String\": string}}", where));
  return nullptr;
}

}  // namespace mvl::llm
