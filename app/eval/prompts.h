// The user prompt of each eval item and the generation defaults per task and protocol.
// `short` reproduces the lmms-eval / VLMEvalKit instructions (single word or phrase;
// option letter), `cot` asks for reasoning then the answer in <answer></answer> tags
// (MiniMax reports DocVQA/AI2D "0-shot CoT"). Texts and sources: docs/eval.md.
#pragma once

#include <cstdint>
#include <string>

#include "app/eval/dataset.h"

namespace mvl::eval {

enum class Protocol { short_answer, cot };
const char* protocol_name(Protocol p);     // "short" | "cot"
Protocol parse_protocol(const std::string& s);  // throws Error{invalid_argument}

inline constexpr const char* kDocVqaShortSuffix = "\nAnswer the question using a single word or phrase.";
inline constexpr const char* kAi2dShortSuffix = "\nAnswer with the option's letter from the given choices directly.";
inline constexpr const char* kCotSuffix =
    "\nThink step by step, then give the final answer inside <answer></answer> tags.";
inline constexpr const char* kDocVqaCotAnswerHint = " The final answer should be a single word or phrase.";
inline constexpr const char* kAi2dCotAnswerHint = " The final answer should be the option's letter.";

// The text part of the user message (the images go before it, as in the official examples).
std::string build_prompt(Task task, Protocol protocol, const Item& item);

// Default max new tokens: short answers 32 (DocVQA) / 16 (AI2D) as lmms-eval; CoT 1024.
int64_t default_max_tokens(Task task, Protocol protocol);

}  // namespace mvl::eval
