// Final-answer extraction (CoT tags, \boxed, "Final answer:", <think> blocks) and AI2D
// option extraction from free-form responses, each case naming the rule that must fire.
#include <gtest/gtest.h>

#include "app/eval/choice.h"

namespace mvl::eval {
namespace {

const std::vector<std::string> kOpts = {"sun", "moon", "star", "planet"};

void expect_choice(const std::string& response, int index, const std::string& rule,
                   const std::vector<std::string>& opts = kOpts) {
  const OptionChoice c = extract_option(response, opts);
  EXPECT_EQ(c.index, index) << "response: " << response;
  EXPECT_EQ(c.rule, rule) << "response: " << response;
}

TEST(FinalAnswer, PrefersTagsThenBoxedThenFinalAnswerLine) {
  EXPECT_EQ(final_answer("<analysis>the total is printed</analysis><answer> $513.81 </answer>"), "$513.81");
  EXPECT_EQ(final_answer("<answer>draft</answer> wait... <answer>C</answer>"), "C");  // the last one
  EXPECT_EQ(final_answer("so the result is \\boxed{7} overall"), "7");
  EXPECT_EQ(final_answer("nested \\boxed{\\frac{1}{2}}"), "\\frac{1}{2}");
  EXPECT_EQ(final_answer("Reasoning...\nFinal answer: Paris\n(done)"), "Paris");
  EXPECT_EQ(final_answer("**Final Answer:** B"), "B");
  EXPECT_EQ(final_answer("<think>maybe A</think>\nB"), "B");
  EXPECT_EQ(final_answer("  plain answer \n"), "plain answer");
}

TEST(ExtractOption, BareLetterForms) {
  expect_choice("B", 1, "letter");
  expect_choice("(B)", 1, "letter");
  expect_choice("b.", 1, "letter");
  expect_choice("[D]", 3, "letter");
  expect_choice("**C**", 2, "letter");
  expect_choice(" A \n", 0, "letter");
}

TEST(ExtractOption, LetterThenOptionText) {
  expect_choice("B. moon", 1, "leading_letter");
  expect_choice("(C) star", 2, "leading_letter");
  expect_choice("D: planet", 3, "leading_letter");
}

TEST(ExtractOption, AnswerPhrases) {
  expect_choice("The answer is B.", 1, "answer_phrase");
  expect_choice("Answer: (C)", 2, "answer_phrase");
  expect_choice("I think the correct option is D because it orbits.", 3, "answer_phrase");
  expect_choice("<think>could be A</think>The answer is D", 3, "answer_phrase");
  expect_choice("<answer>C</answer>", 2, "letter");
}

TEST(ExtractOption, OptionTextMatch) {
  expect_choice("moon", 1, "option_text");
  expect_choice("The Moon.", 1, "option_text");
  expect_choice("It is the planet shown at the top.", 3, "option_text");
  // Two options named: ambiguous, nothing read.
  expect_choice("sun or moon", -1, "none");
  // An option containing the other one wins when both appear.
  expect_choice("I'd say sun and moon here", 1, "option_text", {"sun", "sun and moon", "stars"});
}

TEST(ExtractOption, LoneLetterAndFailures) {
  expect_choice("I think C is right", 2, "lone_letter");
  expect_choice("A cat sat on the mat", -1, "none");  // "A" the article
  expect_choice("E", -1, "none");                     // no fifth option
  expect_choice("B or C", -1, "none");                // two letters: ambiguous
  expect_choice("", -1, "none");
  expect_choice("onigh words many }abab_`", -1, "none");  // tiny-model gibberish
}

TEST(ExtractOption, LongReasoningDoesNotBlowTheStack) {
  // A CoT response of ~300 KB (what a 49k-token budget allows): the tag search must not
  // recurse per character.
  std::string r = "<analysis>";
  for (int i = 0; i < 20000; ++i) r += "the moon is not a star; ";
  r += "</analysis>\n<answer>(B)</answer>";
  EXPECT_EQ(final_answer(r), "(B)");
  expect_choice(r, 1, "letter");
  // Without tags the whole text is searched for phrases, still linearly.
  std::string plain(300000, 'x');
  plain += " so the answer is C";
  expect_choice(plain, 2, "answer_phrase");
}

}  // namespace
}  // namespace mvl::eval
