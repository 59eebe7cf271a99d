// Unicode text helpers the eval metrics are defined on: UTF-8 <-> code points (invalid
// bytes read as U+FFFD, never thrown), Python-like strip/lower/split for the scripts
// document QA meets (Latin, Greek, Cyrillic; see docs/eval.md for what is not covered),
// and Levenshtein distance over code points. Pure functions, no state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mvl::eval {

std::u32string utf8_to_u32(std::string_view s);
std::string u32_to_utf8(std::u32string_view s);

// Python str.isspace() for the code points that occur in practice (ASCII whitespace,
// NBSP, the U+2000 block, ideographic space, line/paragraph separators).
bool is_space(char32_t c);
// Python str.lower() / str.upper() for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic.
char32_t to_lower(char32_t c);
// How many code points Python's str.upper() makes of c (2 for U+00DF sharp s, 2-3 for
// the Latin ligatures U+FB00..FB06, else 1): the ANLS denominator counts upper() lengths.
size_t upper_length(char32_t c);

// " ".join(s.strip().lower().split()) as Python computes it, in code points.
std::u32string collapse_lower(std::u32string_view s);

// Edit distance (insert, delete, substitute: cost 1) over code points. O(|a|*|b|) time,
// O(min) memory.
size_t levenshtein(std::u32string_view a, std::u32string_view b);

}  // namespace mvl::eval
