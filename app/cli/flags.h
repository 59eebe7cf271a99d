// The one flag vocabulary of every subcommand, llama.cpp's names where it has them: -m/--model,
// -i/--image, -p/--prompt, -n/--max-tokens, -c/--ctx-size, --temp, --top-p, --top-k,
// -s/--seed, --device cpu|cuda|cuda:N, --json. Each flag is defined once here and bound by the
// subcommands; earlier spellings (--context, --temperature, --max-new-tokens, ...) still parse
// as hidden aliases. tests/cli/flag_vocabulary_cli_test.cpp checks every subcommand's --help.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/engine/core/options.h"  // engine::GenerateOptions, vision::PillowPassOrder
#include "app/engine/core/session.h"  // engine::kDefaultSystemPrompt
#include "kernels/core/device.h"
#include "kernels/ops/precision.h"

namespace mvl::cli {

// Flag validators that run on the text: a finite number (CLI11's Range passes "nan"), and a
// seed in [0, 2^64) without clamping ("-1" and 2^64 are usage errors).
extern const CLI::Validator kFinite;
extern const CLI::Validator kSeed;
// Accepts cpu, cuda, cuda:N (a bad value is a usage error, exit 2).
extern const CLI::Validator kDeviceValidator;

// Parses a --device value ("cpu", "cuda", "cuda:N"); throws Error{invalid_argument}.
Device parse_device_flag(const std::string& s);

// --- single flags -------------------------------------------------------------------------
// Each returns the visible option so a command can add needs()/excludes()/required().

// -m,--model DIR.
CLI::Option* add_model_flag(CLI::App& cmd, std::string& dir, const std::string& help);
// -i,--image PATH, repeatable and in order.
CLI::Option* add_images_flag(CLI::App& cmd, std::vector<std::string>& paths,
                             const std::string& help);
// -i,--image PATH, once.
CLI::Option* add_image_flag(CLI::App& cmd, std::string& path, const std::string& help);
// -p,--prompt TEXT.
CLI::Option* add_prompt_flag(CLI::App& cmd, std::string& text, const std::string& help);
// -n,--max-tokens N (hidden: --max-new-tokens, --n-predict).
CLI::Option* add_max_tokens_flag(CLI::App& cmd, int64_t& n, const std::string& help);
// -c,--ctx-size N (hidden: --context, --ctx).
CLI::Option* add_ctx_size_flag(CLI::App& cmd, int64_t& n, const std::string& help);
// --temp T (hidden: --temperature).
CLI::Option* add_temp_flag(CLI::App& cmd, float& t, const std::string& help);
// --top-p P in (0, 1].
CLI::Option* add_top_p_flag(CLI::App& cmd, float& p, const std::string& help);
// --top-k K >= 0.
CLI::Option* add_top_k_flag(CLI::App& cmd, int& k, const std::string& help);
// --repeat-penalty R (hidden: --repetition-penalty).
CLI::Option* add_repeat_penalty_flag(CLI::App& cmd, float& r, const std::string& help);
// -s,--seed S.
CLI::Option* add_seed_flag(CLI::App& cmd, uint64_t& seed, const std::string& help);
// --device cpu|cuda|cuda:N.
CLI::Option* add_device_flag(CLI::App& cmd, std::string& dev, const std::string& help);
// --tp N: tensor-parallel ranks of the text model (docs/parallel.md), N >= 1; a size the
// model's heads/experts do not split is refused at load with the sizes that do. Also
// --rank R and --rendezvous PATH (hidden alias --nccl-id): run as rank R of N processes.
CLI::Option* add_tp_flag(CLI::App& cmd, int& ranks, int& rank, std::string& rendezvous);
// --json.
CLI::Option* add_json_flag(CLI::App& cmd, bool& on, const std::string& help);
// --max-image-tokens N >= 0: the per-image token budget (engine::EngineOptions, tile_map.h).
CLI::Option* add_max_image_tokens_flag(CLI::App& cmd, int64_t& n);

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

// --- flag groups of the model commands -----------------------------------------------------

struct ModelFlags {
  std::string model_dir;                  // empty: the bundled tiny demo model
  int64_t ctx_size = 0;                   // 0: the model's own
  int64_t ubatch = 8192;                  // --ubatch-size: EngineOptions::prefill_ubatch
  std::string device = "cpu";             // cpu | cuda | cuda:N
  std::string precision;                  // "" (the device's default) | f32 | bf16
  std::string resize_compat = "classic";  // classic | pillow13
  std::string quant;      // "" | bf16 | int8 | int8-experts | fp8-experts | int4-experts
  bool progress = false;  // --progress: the load bar even when stderr is not a terminal
  int tp = 1;             // --tp: > 1 = the text model over tp ranks (EngineOptions::tp)
  int rank = -1;          // --rank: one process per rank (EngineOptions::rank)
  std::string rendezvous;  // --rendezvous: where those processes meet
  int64_t max_image_tokens = 0;  // --max-image-tokens: 0 = the released grid
};

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

// -m, -c, --device, --precision, --resize-compat, --quant, --progress, --tp,
// --max-image-tokens.
void add_model_flags(CLI::App& cmd, ModelFlags& f);
// --system, -n, --temp, --top-p, --top-k, -s, --repeat-penalty.
void add_generation_flags(CLI::App& cmd, GenerationFlags& f);

}  // namespace mvl::cli
