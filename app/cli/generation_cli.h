// Pieces shared by the generating subcommands (ask, chat, eval, ...): opening the engine with a
// load progress bar and the honest tiny-model note, running one request with streaming and
// Ctrl+C, and the JSON shapes of a result. The flags themselves are in flags.h.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/cli/flags.h"
#include "app/engine/core/engine.h"
#include "app/engine/core/options.h"  // vision::PillowPassOrder (EngineOptions::resize_compat)
#include "kernels/core/device.h"
#include "kernels/core/json.h"
#include "kernels/ops/precision.h"

namespace mvl::cli {

// How a command opens the engine beyond the user's flags.
struct OpenStyle {
  bool note_default = true;       // the one-line note when no -m is given (ask, chat)
  bool require_tokenizer = true;  // false: raw-id commands also open dirs without tokenizer.json
  int64_t prefill_chunk = 512;    // positions per prefill call (<= 0: the whole prompt at once)
  bool quiet = false;             // no load bar even on a terminal (--json output)
};

// Opens the model inside load_phase (exit 3). Without -m: the default model, with a one-line
// note on stderr. The load bar (load_bar.h) goes to stderr when it is a terminal or with
// --progress, never when style.quiet.
std::unique_ptr<engine::Engine> open_engine(const ModelFlags& f, const OpenStyle& style = {});

// Runs one request: pieces go to stdout as they come when `stream` is set; polls Ctrl+C
// (first press cancels). Returns the handle once finished. Errors are NOT thrown here.
engine::RequestHandle run_streaming(engine::Engine& e, engine::Request r, bool stream);

// Throws Error{not_found|invalid_argument} unless `path` is an existing regular file (the
// full decode happens after the model is loaded).
void check_image_path(const std::string& path);

// Throws the request's error as a PhaseError (input -> exit 4, runtime -> exit 1).
void throw_if_error(const engine::RequestHandle& h);

json::Json model_json(const engine::Engine& e);
json::Json result_json(const engine::DoneEvent& d);  // answer, finish_reason, images, usage, timings
std::string stats_line(const engine::DoneEvent& d);  // one human line of timings

}  // namespace mvl::cli
