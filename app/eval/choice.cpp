// Final-answer and multiple-choice extraction: see choice.h; the rule order is documented
// in docs/eval.md and pinned by tests/eval/choice_test.cpp.
#include "app/eval/choice.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "app/eval/metrics.h"

namespace mvl::eval {
namespace {

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// Position of the last whole-word occurrence of `needle` in `hay`, or npos.
bool contains_word(const std::string& hay, const std::string& needle) {
  if (needle.empty()) return false;
  for (size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) {
    const size_t end = pos + needle.size();
    const bool left_ok = pos == 0 || !is_word_char(hay[pos - 1]) || !is_word_char(needle.front());
    const bool right_ok = end == hay.size() || !is_word_char(hay[end]) || !is_word_char(needle.back());
    if (left_ok && right_ok) return true;
  }
  return false;
}

// Strips markdown emphasis and wrapping quotes a chatty model adds around a bare answer.
std::string unwrap(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '*'), s.end());
  s = trim(s);
  while (s.size() >= 2 && ((s.front() == '"' && s.back() == '"') || (s.front() == '\'' && s.back() == '\'') ||
                           (s.front() == '`' && s.back() == '`')))
    s = trim(s.substr(1, s.size() - 2));
  return s;
}

int letter_index(char c, size_t n) {
  const int i = std::toupper(static_cast<unsigned char>(c)) - 'A';
  return (i >= 0 && static_cast<size_t>(i) < n) ? i : -1;
}

}  // namespace

std::string final_answer(std::string_view response) {
  const std::string r(response);
  const std::string low = lower_ascii(r);
  // Plain searches, not std::regex: CoT responses run to hundreds of KB and libstdc++'s
  // regex recurses per character on lazy spans.
  if (const size_t close = low.rfind("</answer>"); close != std::string::npos) {
    if (const size_t open = low.rfind("<answer>", close); open != std::string::npos)
      return trim(std::string_view(r).substr(open + 8, close - (open + 8)));
  }

  if (const size_t b = r.rfind("\\boxed{"); b != std::string::npos) {
    int depth = 1;
    size_t i = b + 7;
    for (; i < r.size() && depth > 0; ++i) depth += r[i] == '{' ? 1 : r[i] == '}' ? -1 : 0;
    if (depth == 0) return trim(std::string_view(r).substr(b + 7, i - 1 - (b + 7)));
  }

  if (const size_t f = low.rfind("final answer"); f != std::string::npos) {
    size_t i = f + 12;
    while (i < r.size() && (r[i] == ':' || r[i] == '*' || std::isspace(static_cast<unsigned char>(r[i])))) ++i;
    if (low.compare(i, 3, "is ") == 0) i += 3;
    const size_t nl = r.find('\n', i);
    const std::string tail = trim(std::string_view(r).substr(i, nl == std::string::npos ? std::string::npos : nl - i));
    if (!tail.empty()) return tail;
  }

  // Reasoning blocks are not the answer: drop <think>...</think> (or everything before a
  // lone closing tag, as reasoning models that skip the opening tag emit).
  std::string out = r;
  if (const size_t close = lower_ascii(out).rfind("</think>"); close != std::string::npos) out = out.substr(close + 8);
  return trim(out);
}

OptionChoice extract_option(std::string_view response, const std::vector<std::string>& options) {
  const size_t n = options.size();
  const std::string text = unwrap(final_answer(response));

  // 1. The whole answer is a letter: "B", "b", "(B)", "[B]", "B.", "B)", "B:".
  static const std::regex whole_letter(R"(^[\(\[]?([A-Za-z])[\)\]]?[\.:]?$)");
  std::smatch m;
  if (std::regex_match(text, m, whole_letter)) {
    if (const int i = letter_index(m[1].str()[0], n); i >= 0) return {i, "letter"};
  }
  // 2. A letter and a delimiter, then the option text: "B. sun", "(B) sun", "B: sun", "B) sun".
  static const std::regex leading(R"(^[\(\[]?([A-Z])(?:[\)\]][\.:]?|[\.:])(?:\s|$))");
  if (std::regex_search(text, m, leading)) {
    if (const int i = letter_index(m[1].str()[0], n); i >= 0) return {i, "leading_letter"};
  }
  // 3. An answer phrase: "The answer is B.", "Answer: (C)", "the correct option is D".
  static const std::regex phrase(R"((?:answer|option|choice)\s*(?:is|:|-)?\s*:?\s*[\(\[]?([A-Z])(?![A-Za-z0-9]))",
                                 std::regex::icase);
  int phrase_pick = -1;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), phrase); it != std::sregex_iterator(); ++it) {
    const char c = (*it)[1].str()[0];
    if (std::isupper(static_cast<unsigned char>(c)) || (*it)[0].str().find_first_of("([:") != std::string::npos) {
      if (const int i = letter_index(c, n); i >= 0) phrase_pick = i;  // the last one wins
    }
  }
  if (phrase_pick >= 0) return {phrase_pick, "answer_phrase"};

  // 4. An option's own text: equal after normalisation, else contained as whole words in
  //    exactly one way (an option that contains every other contained one wins).
  const std::string norm = normalize_exact(text);
  std::vector<std::string> opt_norm(n);
  for (size_t i = 0; i < n; ++i) opt_norm[i] = normalize_exact(options[i]);
  for (size_t i = 0; i < n; ++i) {
    if (!opt_norm[i].empty() && opt_norm[i] == norm &&
        std::count(opt_norm.begin(), opt_norm.end(), opt_norm[i]) == 1)
      return {static_cast<int>(i), "option_text"};
  }
  std::vector<size_t> hits;
  for (size_t i = 0; i < n; ++i)
    if (contains_word(norm, opt_norm[i])) hits.push_back(i);
  if (!hits.empty()) {
    const size_t longest = *std::max_element(hits.begin(), hits.end(), [&](size_t a, size_t b) {
      return opt_norm[a].size() < opt_norm[b].size();
    });
    const bool covers_all = std::all_of(hits.begin(), hits.end(), [&](size_t h) {
      return h == longest || (opt_norm[h] != opt_norm[longest] && opt_norm[longest].find(opt_norm[h]) != std::string::npos);
    });
    if (covers_all) return {static_cast<int>(longest), "option_text"};
  }

  // 5. Exactly one distinct valid capital letter standing alone ("A" before a lowercase
  //    word is the article, not an option).
  std::set<int> lone;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!std::isupper(static_cast<unsigned char>(c))) continue;
    if (i > 0 && is_word_char(text[i - 1])) continue;
    if (i + 1 < text.size() && (is_word_char(text[i + 1]) || text[i + 1] == '\'')) continue;
    if ((c == 'A' || c == 'I') && i + 2 < text.size() && text[i + 1] == ' ' &&
        std::islower(static_cast<unsigned char>(text[i + 2])))
      continue;
    if (const int k = letter_index(c, n); k >= 0) lone.insert(k);
  }
  if (lone.size() == 1) return {*lone.begin(), "lone_letter"};
  return {-1, "none"};
}

}  // namespace mvl::eval
