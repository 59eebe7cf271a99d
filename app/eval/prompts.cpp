// Prompt texts per task and protocol: see prompts.h and docs/eval.md.
#include "app/eval/prompts.h"

#include "kernels/core/error.h"

namespace mvl::eval {

const char* protocol_name(Protocol p) { return p == Protocol::cot ? "cot" : "short"; }

Protocol parse_protocol(const std::string& s) {
  if (s == "short") return Protocol::short_answer;
  if (s == "cot") return Protocol::cot;
  throw Error(ErrorCategory::invalid_argument,
              fmt::format("--protocol '{}' is not a protocol; use short (lmms-eval prompts) or cot", s));
}

std::string build_prompt(Task task, Protocol protocol, const Item& item) {
  std::string p = item.question;
  if (task == Task::ai2d) {
    // lmms-eval's "mcq" format: the options one per line as "A. text".
    for (size_t i = 0; i < item.options.size(); ++i)
      p += fmt::format("\n{}. {}", static_cast<char>('A' + i), item.options[i]);
  }
  if (protocol == Protocol::short_answer) return p + (task == Task::docvqa ? kDocVqaShortSuffix : kAi2dShortSuffix);
  return p + kCotSuffix + (task == Task::docvqa ? kDocVqaCotAnswerHint : kAi2dCotAnswerHint);
}

int64_t default_max_tokens(Task task, Protocol protocol) {
  if (protocol == Protocol::cot) return 1024;
  return task == Task::docvqa ? 32 : 16;
}

}  // namespace mvl::eval
