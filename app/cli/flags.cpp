// The shared flag vocabulary (flags.h): one definition per flag, its checks and its hidden
// aliases, and the model/generation groups bound by ask, chat, eval, serve and the others.
#include "app/cli/flags.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "kernels/core/error.h"

namespace mvl::cli {

namespace {

// An earlier spelling kept working but out of --help: bound to the same variable.
template <typename T>
CLI::Option* hidden_alias(CLI::App& cmd, const std::string& name, T& v) {
  return cmd.add_option(name, v)->group("");
}

bool all_digits(const std::string& s, size_t from) {
  return s.size() > from && s.size() < from + 4 &&
         s.find_first_not_of("0123456789", from) == std::string::npos;
}

}  // namespace

// CLI11's Range lets NaN through (every comparison with NaN is false) and its integer
// conversion clamps "-1" / 2^64 into a uint64_t; these run on the text before conversion.
const CLI::Validator kFinite(
    [](std::string& s) -> std::string {
      char* end = nullptr;
      const double v = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v))
        return "'" + s + "' is not a finite number";
      return "";
    },
    "FINITE");

const CLI::Validator kSeed(
    [](std::string& s) -> std::string {
      uint64_t v = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || ec != std::errc() || end != s.data() + s.size())
        return "'" + s + "' is not a seed: use a whole number from 0 to 18446744073709551615";
      return "";
    },
    "0..2^64-1");

const CLI::Validator kDeviceValidator(
    [](std::string& s) -> std::string {
      try {
        (void)parse_device_flag(s);
      } catch (const Error& e) {
        return e.message();
      }
      return "";
    },
    "cpu|cuda|cuda:N");

Device parse_device_flag(const std::string& s) {
  if (s == "cpu") return Device::cpu();
  if (s == "cuda") return Device::cuda(0);
  if (s.rfind("cuda:", 0) == 0 && all_digits(s, 5)) return Device::cuda(std::stoi(s.substr(5)));
  // A bare index: `bench --device N`'s earlier spelling, kept working (not in --help).
  if (all_digits(s, 0)) return Device::cuda(std::stoi(s));
  throw Error(ErrorCategory::invalid_argument,
              fmt::format("--device '{}' is not a device; use cpu, cuda or cuda:N", s));
}

CLI::Option* add_model_flag(CLI::App& cmd, std::string& dir, const std::string& help) {
  return cmd.add_option("-m,--model", dir, help)->type_name("DIR");
}

CLI::Option* add_images_flag(CLI::App& cmd, std::vector<std::string>& paths,
                             const std::string& help) {
  return cmd.add_option("-i,--image", paths, help)->type_name("PATH")->allow_extra_args(false);
}

CLI::Option* add_image_flag(CLI::App& cmd, std::string& path, const std::string& help) {
  return cmd.add_option("-i,--image", path, help)->type_name("PATH");
}

CLI::Option* add_prompt_flag(CLI::App& cmd, std::string& text, const std::string& help) {
  return cmd.add_option("-p,--prompt", text, help)->type_name("TEXT");
}

CLI::Option* add_max_tokens_flag(CLI::App& cmd, int64_t& n, const std::string& help) {
  hidden_alias(cmd, "--max-new-tokens", n);
  hidden_alias(cmd, "--n-predict", n);
  return cmd.add_option("-n,--max-tokens", n, help)->type_name("N")->capture_default_str();
}

CLI::Option* add_ctx_size_flag(CLI::App& cmd, int64_t& n, const std::string& help) {
  hidden_alias(cmd, "--context", n)->check(CLI::NonNegativeNumber);
  hidden_alias(cmd, "--ctx", n)->check(CLI::NonNegativeNumber);
  return cmd.add_option("-c,--ctx-size", n, help)
      ->type_name("N")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

CLI::Option* add_temp_flag(CLI::App& cmd, float& t, const std::string& help) {
  hidden_alias(cmd, "--temperature", t)->check(kFinite)->check(CLI::Range(0.0, 100.0));
  return cmd.add_option("--temp", t, help)
      ->type_name("T")
      ->check(kFinite)
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
}

CLI::Option* add_top_p_flag(CLI::App& cmd, float& p, const std::string& help) {
  return cmd.add_option("--top-p", p, help)
      ->type_name("P")
      ->check(kFinite)
      ->check(CLI::Range(1e-9, 1.0))
      ->capture_default_str();
}

CLI::Option* add_top_k_flag(CLI::App& cmd, int& k, const std::string& help) {
  return cmd.add_option("--top-k", k, help)
      ->type_name("K")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

CLI::Option* add_repeat_penalty_flag(CLI::App& cmd, float& r, const std::string& help) {
  hidden_alias(cmd, "--repetition-penalty", r)->check(kFinite)->check(CLI::Range(1e-3, 100.0));
  return cmd.add_option("--repeat-penalty", r, help)
      ->type_name("R")
      ->check(kFinite)
      ->check(CLI::Range(1e-3, 100.0))
      ->capture_default_str();
}

CLI::Option* add_seed_flag(CLI::App& cmd, uint64_t& seed, const std::string& help) {
  return cmd.add_option("-s,--seed", seed, help)
      ->type_name("S")
      ->check(kSeed)
      ->capture_default_str();
}

CLI::Option* add_device_flag(CLI::App& cmd, std::string& dev, const std::string& help) {
  return cmd.add_option("--device", dev, help)
      ->type_name("DEV")
      ->check(kDeviceValidator)
      ->capture_default_str();
}

CLI::Option* add_json_flag(CLI::App& cmd, bool& on, const std::string& help) {
  return cmd.add_flag("--json", on, help);
}

CLI::Option* add_max_image_tokens_flag(CLI::App& cmd, int64_t& n) {
  return cmd
      .add_option("--max-image-tokens", n,
                  "Per-image token budget: an image whose grid needs more gets the best smaller "
                  "grid that fits (departs from the released preprocessing; docs/tile-map.md). "
                  "0 = none")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
}

const char* const kPrecisionHelp =
    "Activation precision of the text model and the ViT: bf16 = fast (the tuned GPU kernels, "
    "Hugging Face transformers' bf16 numerics; the default on cuda), f32 = f32 activations op "
    "for op like the CPU reference (the only choice and the default on cpu; slower on a GPU). On "
    "a GPU the weights are bf16 either way: an f32 or f16 checkpoint is rounded to bf16 at "
    "upload, so f32 on a GPU matches the CPU (which keeps the checkpoint's own weights) only for "
    "bf16 checkpoints such as the released MiniMax-VL-01";

void add_precision_flag(CLI::App& cmd, std::string& value) {
  cmd.add_option("--precision", value, kPrecisionHelp)->check(CLI::IsMember({"f32", "bf16"}));
}

std::optional<ops::Precision> precision_flag(const std::string& value) {
  if (value.empty()) return std::nullopt;
  return ops::parse_precision(value);
}

void add_resize_compat_flag(CLI::App& cmd, std::string& value) {
  cmd.add_option("--resize-compat", value,
                 "Whose image resize to reproduce: classic (Pillow <= 12, horizontal pass first; "
                 "what MiniMax-VL-01 was trained with, the default) or pillow13 (Pillow >= 13, "
                 "which resizes tall images vertically first and so gives them slightly "
                 "different pixels)")
      ->type_name("classic|pillow13")
      ->capture_default_str()
      ->check(CLI::IsMember({"classic", "pillow13"}));
}

vision::PillowPassOrder resize_compat_flag(const std::string& value) {
  return vision::parse_pass_order(value);
}

engine::GenerateOptions GenerationFlags::options() const {
  engine::GenerateOptions o;
  o.max_tokens = max_tokens;
  o.sampling.temperature = temperature;
  o.sampling.top_p = top_p;
  o.sampling.top_k = top_k;
  o.sampling.seed = seed;
  o.sampling.repetition_penalty = repeat_penalty;
  return o;
}

void add_model_flags(CLI::App& cmd, ModelFlags& f) {
  add_model_flag(cmd, f.model_dir,
                 "Checkpoint dir (config.json, tokenizer.json, *.safetensors; released or native "
                 "layout). Default: the bundled tiny document model (assets/models/tiny-docs)");
  add_ctx_size_flag(cmd, f.ctx_size, "Context length cap in tokens (0 = the model's)");
  // llama.cpp spells it -ub; CLI11 short names are one letter, so the long name only.
  hidden_alias(cmd, "--ubatch", f.ubatch)->check(CLI::NonNegativeNumber);
  cmd.add_option("--ubatch-size", f.ubatch,
                 "Prompt positions per pass through the layers (0 = the whole prefill call at once); "
                 "bounds the activation memory of long prompts (llama.cpp's -ub)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  add_device_flag(cmd, f.device,
                  "Where the model runs: cpu (default), cuda or cuda:N (needs a build with the "
                  "CUDA backend; weights are uploaded once as bf16)");
  add_precision_flag(cmd, f.precision);
  add_resize_compat_flag(cmd, f.resize_compat);
  cmd.add_option(
         "--quant", f.quant,
         "Quantize the text model's weights while loading (docs/quantization.md): int8 = every "
         "linear "
         "but embed_tokens, lm_head and the routers (the official recipe); int8-experts, "
         "fp8-experts, int4-experts = the experts only; works with --tp N (each rank quantizes "
         "its slices to the codes of --tp 1)")
      ->type_name("FORMAT")
      ->check(
          CLI::IsMember({"bf16", "none", "int8", "int8-experts", "fp8-experts", "int4-experts"}));
  add_max_image_tokens_flag(cmd, f.max_image_tokens);
  cmd.add_flag("--progress", f.progress,
               "Draw the model-loading bar (bytes, rate, ETA) on stderr even when it is not a "
               "terminal (it is drawn on a terminal anyway; never with --json)");
  add_tp_flag(cmd, f.tp, f.rank, f.rendezvous);
}

CLI::Option* add_tp_flag(CLI::App& cmd, int& ranks, int& rank, std::string& rendezvous) {
  CLI::Option* tp =
      cmd.add_option("--tp", ranks,
                     "Tensor-parallel ranks for the text model: CPU threads with --device cpu, "
                     "GPUs from --device's index on with cuda (N must split the attention heads, "
                     "KV heads and experts; docs/parallel.md)")
          ->type_name("N")
          ->capture_default_str()
          ->check(CLI::Range(1, 4096));
  CLI::Option* where =
      cmd.add_option("--rendezvous", rendezvous,
                     "With --rank: where the --tp processes meet: a Unix socket path (cpu) or the "
                     "NCCL id file on a filesystem every process sees (cuda); a fresh path per run")
          ->type_name("PATH");
  cmd.add_option("--nccl-id", rendezvous)->group("")->excludes(where);
  cmd.add_option("--rank", rank,
                 "Run as this one rank of --tp N processes (0 .. N-1), started N times with the "
                 "same --rendezvous; --device names this process's own device")
      ->type_name("R")
      ->check(CLI::Range(0, 4095));
  return tp;
}

void add_generation_flags(CLI::App& cmd, GenerationFlags& f) {
  cmd.add_option("--system", f.system,
                 "System prompt (\"\" for none). Default: the one of the official examples")
      ->type_name("TEXT");
  add_max_tokens_flag(cmd, f.max_tokens, "Max new tokens (<= 0: until EOS or a full context)");
  add_temp_flag(cmd, f.temperature, "Temperature; 0 = greedy (default, as the official examples)");
  add_top_p_flag(cmd, f.top_p, "Nucleus sampling mass (1 = off)");
  add_top_k_flag(cmd, f.top_k, "Keep the K most likely tokens (0 = off)");
  add_seed_flag(cmd, f.seed, "Sampling seed (same seed + prompt = same answer)");
  add_repeat_penalty_flag(cmd, f.repeat_penalty, "Repetition penalty (1 = off)");
}

}  // namespace mvl::cli
