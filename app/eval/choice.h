// Reading the answer out of a free-form model response: the final answer of a
// chain-of-thought response (<answer> tags, \boxed{}, "Final answer:"), and the chosen
// option of a multiple-choice (AI2D) response, with the rule that fired so a report can
// show why a response scored 0. Pure functions; rules in order in docs/eval.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mvl::eval {

// The text to score: the last <answer>...</answer>, else the last \boxed{...}, else what
// follows the last "final answer:" (case-insensitive), else the response with any
// <think>...</think> block removed. Always trimmed.
std::string final_answer(std::string_view response);

struct OptionChoice {
  int index = -1;     // 0-based option index; -1 when nothing could be read
  std::string rule;   // "letter", "leading_letter", "answer_phrase", "option_text", "lone_letter", "none"
};

// Which of `options` (A, B, C, ... in order) a response picks, e.g. "B", "(B)", "b.",
// "B. the sun", "The answer is B.", "Answer: (C)", "the sun" (an option's text), or a
// single standalone valid letter somewhere in the response.
OptionChoice extract_option(std::string_view response, const std::vector<std::string>& options);

inline char option_letter(int index) { return static_cast<char>('A' + index); }

}  // namespace mvl::eval
