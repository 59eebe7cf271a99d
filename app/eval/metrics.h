// The eval scores as pure functions: ANLS (DocVQA, threshold 0.5, in the lmms-eval /
// VLMEvalKit reading and the strict RRC reading), normalised exact match, and AI2D
// multiple-choice scoring (option extraction lives in choice.h). Definitions and how they
// compare to the Python harnesses: docs/eval.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mvl::eval {

inline constexpr double kAnlsThreshold = 0.5;

enum class AnlsImpl {
  // lmms-eval / VLMEvalKit (Qwen-VL's infographicsvqa_eval.py): score = 1 - min_j NL_j,
  // zeroed when < 0.5 (so NL == 0.5 exactly scores 0.5).
  lmms,
  // The RRC task definition read literally: s_j = 1 - NL_j if NL_j < 0.5 else 0; max_j.
  strict,
};

// Normalised Levenshtein distance of one prediction against one reference, as both
// harnesses compute it: distance between " ".join(x.strip().lower().split()) of each,
// divided by max(len(ref.upper()), len(pred.upper())) of the RAW strings (code points);
// 0 when both are empty.
double normalized_levenshtein(std::string_view prediction, std::string_view reference);

// Per-question ANLS in [0, 1]. No references (e.g. the DocVQA test split): nullopt.
std::optional<double> anls(std::string_view prediction, const std::vector<std::string>& references,
                           AnlsImpl impl = AnlsImpl::lmms, double threshold = kAnlsThreshold);

// Exact-match normalisation: strip, lowercase, collapse whitespace, then drop punctuation
// and quotes at both ends ("Paris." == "paris", "$5.00" keeps its inner '.').
std::string normalize_exact(std::string_view s);
// 1 if the prediction equals any reference after normalize_exact, else 0; nullopt without
// references.
std::optional<double> exact_match(std::string_view prediction, const std::vector<std::string>& references);

// lmms-eval's AI2D scoring: a response starting with "X." counts as X, otherwise the
// whole response is compared with the target letter, case and punctuation ignored
// (surrounding whitespace is stripped too; see docs/eval.md).
bool lmms_choice_match(std::string_view response, char target_letter);

// Mean of the values that are set; nullopt when none is.
std::optional<double> mean_of(const std::vector<std::optional<double>>& v);

}  // namespace mvl::eval
