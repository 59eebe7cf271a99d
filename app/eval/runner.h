// The batch eval runner: one loaded Engine, the dataset's items in order, one fresh
// session per item (images first, then the prompt), the next item's images decoded on a
// helper thread while the current one generates. Per-item failures (an unreadable image, a
// prompt over the context) are recorded, not fatal; a stop request cancels the running
// item and ends the run with every finished item kept; --resume skips finished ids.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "app/engine/core/engine.h"
#include "app/eval/dataset.h"
#include "app/eval/output_lock.h"
#include "app/eval/prompts.h"
#include "kernels/core/json.h"

namespace mvl::eval {

struct Progress {
  size_t done = 0;         // records in the predictions file (resumed ones included)
  size_t selected = 0;     // items this run covers
  size_t ran = 0;          // items run by this process
  size_t errors = 0;       // error records so far (resumed ones included)
  double elapsed_s = 0;    // since this process started running items
  double eta_s = -1;       // remaining items x mean time per item run here; -1 unknown
  std::optional<double> running_score;  // headline metric over the records so far
  std::string last_id;
};

struct RunConfig {
  Task task = Task::docvqa;
  Protocol protocol = Protocol::short_answer;
  engine::GenerateOptions generation;
  std::string system_prompt = engine::kDefaultSystemPrompt;
  int64_t limit = 0;           // first N items; 0 = all
  std::string output_dir;      // created if missing
  bool resume = false;         // keep finished items of an earlier run in output_dir (errors are retried)
  bool overwrite = false;      // discard an earlier run in output_dir
  std::function<bool()> stop_requested;               // polled ~every 50 ms; true: cancel and stop
  std::function<void(const Progress&)> on_progress;   // after every item (on the calling thread)
  json::Json model;            // description stored in run.json / summary.json
  // The output folder's lock when the caller took it early (before the model load); run_eval
  // takes it itself when null. A folder locked by another run: Error{invalid_argument}.
  std::shared_ptr<OutputLock> lock;
};

struct RunResult {
  json::Json summary;
  size_t ran = 0;          // items run now
  size_t skipped = 0;      // finished items kept from an earlier run
  size_t retried = 0;      // error records of an earlier run dropped to be run again
  size_t changed =
      0;  // earlier records whose item changed (prompt, target, image bytes): run again
  std::string first_changed;  // the first such id, for the message
  bool interrupted = false;
  std::string predictions_path, summary_path, markdown_path;
};

// Files in output_dir: predictions.jsonl (one record per item, appended and flushed as
// each finishes), run.json (task/protocol/generation, checked by --resume), summary.json,
// summary.md and, for DocVQA, submission.json (RRC format). Throws Error{invalid_argument}
// when output_dir holds an earlier run and neither resume nor overwrite is set, or when
// --resume meets a run with other settings.
RunResult run_eval(engine::Engine& engine, const Dataset& dataset, const RunConfig& config);

// Below this many parameters a model is a demo/test model (the bundled tiny-random has ~0.8M;
// MiniMax-VL-01 has ~456B): reports flag it so a 0.00 is not read as a real score.
inline constexpr int64_t kDemoParameters = 100'000'000;

// The description of the loaded model stored in the reports: name (its folder's), dir,
// parameters, weight_bytes, weight_dtype, precision (activations), backend, and demo (with
// demo_reason) for the bundled random model or any model below kDemoParameters.
json::Json describe_model(const engine::Engine& engine);

}  // namespace mvl::eval
