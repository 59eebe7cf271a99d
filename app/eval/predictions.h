// The per-item record of an eval run and the append-only predictions file that holds them
// (one JSON object per line: id, prompt, response, extracted answer, scores, usage,
// timings, error). Reading it back is what --resume does: a torn last line (the process
// died mid-write) is dropped, a malformed line elsewhere is an error naming file:line.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "app/engine/core/events.h"
#include "app/eval/dataset.h"
#include "app/eval/prompts.h"
#include "kernels/core/json.h"

namespace mvl::eval {

// Builds one record. Exactly one of `done` / `error` is set; an error record has null
// scores (the summary counts it as 0 where the item has references).
json::Json make_record(Task task, Protocol protocol, const Item& item, size_t index, const std::string& prompt,
                       const engine::DoneEvent* done, const engine::ErrorEvent* error, double wall_ms);

// Scores of a response for an item (the "scores", "extracted" and "extraction_rule" keys
// of a record), exposed for tests and re-scoring.
json::Json score_response(Task task, Protocol protocol, const Item& item, const std::string& response);

// 64-bit FNV-1a of a file's bytes as 16 hex digits; throws Error{not_found|io}.
std::string file_fnv1a64(const std::string& path);

struct PredictionsFile {
  std::vector<json::Json> records;
  size_t dropped_torn_line = 0;  // 1 when the last line was incomplete and was dropped
};

// Missing file: no records. Throws Error{bad_format} naming file:line for a bad line that
// is not the last one.
PredictionsFile read_predictions(const std::string& path);

// Rewrites the file with `records` (temp file + rename, so a crash keeps the old one).
void rewrite_predictions(const std::string& path, const std::vector<json::Json>& records);

// Appends one record as a line and flushes it, so Ctrl+C or a crash keeps finished items.
class PredictionsWriter {
 public:
  explicit PredictionsWriter(const std::string& path);  // opens for append; throws Error{io}
  ~PredictionsWriter();
  PredictionsWriter(const PredictionsWriter&) = delete;
  PredictionsWriter& operator=(const PredictionsWriter&) = delete;
  void append(const json::Json& record);

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
};

}  // namespace mvl::eval
