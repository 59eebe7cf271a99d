// ANLS, exact match and the lmms-eval AI2D match: see metrics.h and docs/eval.md.
#include "app/eval/metrics.h"

#include <algorithm>
#include <cctype>

#include "app/eval/text.h"

namespace mvl::eval {
namespace {

size_t upper_len(std::u32string_view s) {
  size_t n = 0;
  for (char32_t c : s) n += upper_length(c);
  return n;
}

bool is_ascii_punct(char32_t c) { return c < 0x80 && std::ispunct(static_cast<int>(c)); }

// Quotes and punctuation that commonly wrap a short answer.
bool is_wrapping_punct(char32_t c) {
  return is_ascii_punct(c) || c == 0x2018 || c == 0x2019 || c == 0x201C || c == 0x201D || c == 0x3002 ||
         c == 0xFF0C || c == 0xFF0E;
}

}  // namespace

double normalized_levenshtein(std::string_view prediction, std::string_view reference) {
  const std::u32string p = utf8_to_u32(prediction), r = utf8_to_u32(reference);
  const size_t len = std::max(upper_len(p), upper_len(r));
  if (len == 0) return 0.0;
  const size_t dist = levenshtein(collapse_lower(r), collapse_lower(p));
  return static_cast<double>(dist) / static_cast<double>(len);
}

std::optional<double> anls(std::string_view prediction, const std::vector<std::string>& references,
                           AnlsImpl impl, double threshold) {
  if (references.empty()) return std::nullopt;
  double best = 0.0;
  for (const auto& ref : references) {
    const double nl = normalized_levenshtein(prediction, ref);
    double s = 1.0 - nl;
    if (impl == AnlsImpl::strict && !(nl < threshold)) s = 0.0;
    best = std::max(best, s);
  }
  if (impl == AnlsImpl::lmms && best < threshold) best = 0.0;
  // The collapsed distance can exceed the raw-length denominator only for strings whose
  // lowercase form is longer (U+0130); keep the score a score.
  return std::clamp(best, 0.0, 1.0);
}

std::string normalize_exact(std::string_view s) {
  std::u32string t = collapse_lower(utf8_to_u32(s));
  size_t b = 0, e = t.size();
  while (b < e && (is_wrapping_punct(t[b]) || is_space(t[b]))) ++b;
  while (e > b && (is_wrapping_punct(t[e - 1]) || is_space(t[e - 1]))) --e;
  return u32_to_utf8(std::u32string_view(t).substr(b, e - b));
}

std::optional<double> exact_match(std::string_view prediction, const std::vector<std::string>& references) {
  if (references.empty()) return std::nullopt;
  const std::string p = normalize_exact(prediction);
  for (const auto& r : references)
    if (normalize_exact(r) == p) return 1.0;
  return 0.0;
}

bool lmms_choice_match(std::string_view response, char target_letter) {
  std::u32string t = utf8_to_u32(response);
  size_t b = 0, e = t.size();
  while (b < e && is_space(t[b])) ++b;
  while (e > b && is_space(t[e - 1])) --e;
  t = t.substr(b, e - b);
  const char32_t target = static_cast<char32_t>(std::tolower(static_cast<unsigned char>(target_letter)));
  if (t.size() >= 2 && t[0] >= U'A' && t[0] <= U'Z' && t[1] == U'.') return to_lower(t[0]) == target;
  std::u32string kept;
  for (char32_t c : t)
    if (!is_ascii_punct(c)) kept.push_back(to_lower(c));
  return kept.size() == 1 && kept[0] == target;
}

std::optional<double> mean_of(const std::vector<std::optional<double>>& v) {
  double sum = 0;
  size_t n = 0;
  for (const auto& x : v)
    if (x) sum += *x, ++n;
  if (n == 0) return std::nullopt;
  return sum / static_cast<double>(n);
}

}  // namespace mvl::eval
