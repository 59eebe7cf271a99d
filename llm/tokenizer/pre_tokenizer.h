// tokenizer.json "pre_tokenizer": ByteLevel, Split, Digits, WhitespaceSplit and Sequence,
// flattened into a chain of stages. Every Hugging Face pre-tokenizer acts on each split
// independently, so the chain runs depth-first: a stage emits each sub-piece straight into
// the next stage, and the last stage hands finished pre-tokens to a sink (the BPE model).
// Stage buffers are reused between calls, so steady-state encoding does not allocate.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llm/tokenizer/regex.h"

namespace mvl::llm {

// How a Split stage treats matches (Hugging Face's SplitDelimiterBehavior).
enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

struct PreTokenStage {
  enum class Kind { prefix_space, split, byte_map };
  Kind kind = Kind::split;
  std::shared_ptr<const Regex> regex;  // split only
  SplitBehavior behavior = SplitBehavior::isolated;
  bool invert = false;
};

// Reusable per-call buffers, one slot per stage depth.
struct PreTokenScratch {
  RegexScratch regex;
  std::vector<std::string> text;                              // transformed piece per depth
  std::vector<std::vector<std::pair<size_t, size_t>>> spans;  // split output per depth
  std::vector<std::vector<std::tuple<size_t, size_t, bool>>> matches;
};

class PreTokenizer {
 public:
  using Sink = std::function<void(std::string_view)>;

  // Parses "pre_tokenizer" (null = none); throws Error{bad_format|unsupported}.
  static PreTokenizer from_json(const nlohmann::json& j);

  // Runs the chain on `text` and calls sink(piece) for every non-empty pre-token, in order.
  void run(std::string_view text, PreTokenScratch& scratch, const Sink& sink) const;
  // The same in two halves, so the encoder can cache on the raw piece: run_splits() runs the
  // stages up to the last splitting one and emits raw pieces; finish() applies the remaining
  // one-to-one transforms (prefix space, byte mapping) to one raw piece.
  void run_splits(std::string_view text, PreTokenScratch& scratch, const Sink& sink) const;
  std::string_view finish(std::string_view raw_piece, PreTokenScratch& scratch) const;
  // Splits one pre-token as HF's Split with `behavior` would (non-empty pieces only); exposed
  // for ByteLevel's own regex and for tests.
  static void split(std::string_view text, const Regex& re, SplitBehavior behavior, bool invert,
                    RegexScratch& rs, std::vector<std::tuple<size_t, size_t, bool>>& matches,
                    std::vector<std::pair<size_t, size_t>>& out);

  bool empty() const { return stages_.empty(); }

 private:
  void add(const nlohmann::json& j, const std::string& where);
  void run_stage(size_t k, std::string_view piece, PreTokenScratch& scratch,
                 const Sink& sink) const;

  std::vector<PreTokenStage> stages_;
  size_t split_end_ = 0;  // stages [split_end_, end) never split: one piece in, one out
};

}  // namespace mvl::llm
