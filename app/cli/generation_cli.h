// Pieces shared by the generating subcommands (ask, chat): the model and sampling flags
// (defined once, bound to both), opening the engine with a load progress bar and the
// honest tiny-model note, running one request with streaming and Ctrl+C, and the JSON
// shapes of a result.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/engine/core/engine.h"
#include "app/engine/core/options.h"  // vision::PillowPassOrder (EngineOptions::resize_compat)
#include "kernels/core/device.h"
#include "kernels/core/json.h"
#include "kernels/ops/precision.h"

namespace mvl::cli {

struct ModelFlags {
  std::string model_dir;       // empty: the bundled tiny demo model
  int64_t ctx_size = 0;        // 0: the model's own
  std::string device = "cpu";  // cpu | cuda | cuda:N
  std::string precision;       // "" (the device's default) | f32 | bf16
  std::string resize_compat = "classic";  // classic | pillow13
  std::string quant;  // "" | bf16 | int8 | int8-experts | fp8-experts | int4-experts
};

// The help text of --precision, shared by every subcommand that has it.
extern const char* const kPrecisionHelp;
// Adds --precision f32|bf16 bound to `value` (a bad value is a usage error, exit 2).
void add_precision_flag(CLI::App& cmd, std::string& value);
// "" -> unset (the device's default), else the parsed precision.
std::optional<ops::Precision> precision_flag(const std::string& value);

// Adds --resize-compat classic|pillow13 (whose Pillow resize images get; a bad value is a usage
// error) to a command that reads images. See docs/resize-compat.md.
void add_resize_compat_flag(CLI::App& cmd, std::string& value);
vision::PillowPassOrder resize_compat_flag(const std::string& value);

// Parses a --device value ("cpu", "cuda", "cuda:N"); throws Error{invalid_argument}.
Device parse_device_flag(const std::string& s);

struct GenerationFlags {
  int64_t max_tokens = 512;
  float temperature = 0.0f;  // greedy, as in the official MiniMax-VL-01 examples
  float top_p = 1.0f;
  int top_k = 0;
  uint64_t seed = 0;
  float repeat_penalty = 1.0f;
  std::string system = engine::kDefaultSystemPrompt;
  engine::GenerateOptions options() const;
};

void add_model_flags(CLI::App& cmd, ModelFlags& f);
// Flag validators that run on the text: a finite number (CLI11's Range passes "nan"), and a
// seed in [0, 2^64) without clamping ("-1" and 2^64 are usage errors).
extern const CLI::Validator kFinite;
extern const CLI::Validator kSeed;

void add_generation_flags(CLI::App& cmd, GenerationFlags& f);

// How a command opens the engine beyond the user's flags.
struct OpenStyle {
  bool note_default = true;       // the one-line note when no -m is given (ask, chat)
  bool require_tokenizer = true;  // false: raw-id commands also open dirs without tokenizer.json
  int64_t prefill_chunk = 512;    // positions per prefill call (<= 0: the whole prompt at once)
  int tp = 1;                     // > 1: the text model over tp ranks (EngineOptions::tp)
};

// Opens the model inside load_phase (exit 3). Without -m: the default model, with a one-line
// note on stderr. A progress bar goes to stderr only when it is a terminal.
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
