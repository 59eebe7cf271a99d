// The reports of an eval run, computed from the prediction records alone (so a resumed
// run reports every item, old and new): summary JSON (scores, counts, timings), a short
// markdown table, and for DocVQA the RRC submission list [{"questionId", "answer"}].
#pragma once

#include <string>
#include <vector>

#include "app/eval/dataset.h"
#include "app/eval/prompts.h"
#include "kernels/core/json.h"

namespace mvl::eval {

struct RunInfo {
  Task task = Task::docvqa;
  Protocol protocol = Protocol::short_answer;
  std::string dataset_path, dataset_format;
  size_t dataset_items = 0;  // items in the file
  size_t selected = 0;       // items this run covers (--limit)
  bool interrupted = false;
  double load_ms = 0;
  json::Json model;          // engine/model description
  json::Json generation;     // sampling and max tokens
};

// Headline score: the mean over items with references, errors counted as 0
// ("score_excluding_errors" leaves them out). Timings aggregate per-item numbers
// token-weighted (prefill tok/s = sum prompt tokens / sum prefill time, ...).
json::Json summarize(const std::vector<json::Json>& records, const RunInfo& info);

// A few lines of GitHub markdown: one table row with score, n, errors and throughput.
std::string summary_markdown(const json::Json& summary);

// [{"questionId": int-or-string, "answer": extracted}] in record order (errors answer "").
json::Json docvqa_submission(const std::vector<json::Json>& records);

// Writes summary.json, summary.md and (DocVQA) submission.json into `dir`.
void write_reports(const std::string& dir, const std::vector<json::Json>& records, const json::Json& summary,
                   Task task);

}  // namespace mvl::eval
