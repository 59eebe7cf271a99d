// Shared flag table, engine opening, the streaming loop and result JSON for ask/chat.
#include "app/cli/generation_cli.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "app/cli/command.h"
#include "app/cli/signals.h"

namespace mvl::cli {

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
  cmd.add_option("-m,--model", f.model_dir,
                 "Checkpoint dir (config.json, tokenizer.json, *.safetensors; released or native "
                 "layout). Default: the bundled tiny random demo model")
      ->type_name("DIR");
  cmd.add_option("-c,--ctx-size", f.ctx_size, "Context length cap in tokens (0 = the model's)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--device", f.device,
                 "Where the model runs: cpu (default), cuda or cuda:N (needs a build with the CUDA backend; "
                 "weights are uploaded once as bf16)")
      ->type_name("DEV")
      ->capture_default_str();
  add_precision_flag(cmd, f.precision);
  add_resize_compat_flag(cmd, f.resize_compat);
  cmd.add_option(
         "--quant", f.quant,
         "Quantize the text model's weights while loading (CPU only for now): int8 = every linear "
         "but embed_tokens, lm_head and the routers (the official recipe); int8-experts, "
         "fp8-experts, int4-experts = the experts only")
      ->type_name("FORMAT")
      ->check(
          CLI::IsMember({"bf16", "none", "int8", "int8-experts", "fp8-experts", "int4-experts"}));
}

void add_resize_compat_flag(CLI::App& cmd, std::string& value) {
  cmd.add_option("--resize-compat", value,
                 "Whose image resize to reproduce: classic (Pillow <= 12, horizontal pass first; "
                 "what MiniMax-VL-01 "
                 "was trained with, the default) or pillow13 (Pillow >= 13, which resizes tall "
                 "images vertically "
                 "first and so gives them slightly different pixels)")
      ->type_name("classic|pillow13")
      ->capture_default_str()
      ->check(CLI::IsMember({"classic", "pillow13"}));
}

vision::PillowPassOrder resize_compat_flag(const std::string& value) {
  return vision::parse_pass_order(value);
}

const char* const kPrecisionHelp =
    "Activation precision of the text model and the ViT: bf16 = fast (the tuned GPU kernels, "
    "Hugging Face "
    "transformers' bf16 numerics; the default on cuda), f32 = f32 activations op for op like the "
    "CPU reference "
    "(the only choice and the default on cpu; slower on a GPU). On a GPU the weights are bf16 "
    "either way: an f32 "
    "or f16 checkpoint is rounded to bf16 at upload, so f32 on a GPU matches the CPU (which keeps "
    "the "
    "checkpoint's own weights) only for bf16 checkpoints such as the released MiniMax-VL-01";

void add_precision_flag(CLI::App& cmd, std::string& value) {
  cmd.add_option("--precision", value, kPrecisionHelp)->check(CLI::IsMember({"f32", "bf16"}));
}

std::optional<ops::Precision> precision_flag(const std::string& value) {
  if (value.empty()) return std::nullopt;
  return ops::parse_precision(value);
}

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

void add_generation_flags(CLI::App& cmd, GenerationFlags& f) {
  cmd.add_option("--system", f.system,
                 "System prompt (\"\" for none). Default: the one of the official examples")
      ->type_name("TEXT");
  cmd.add_option("-n,--max-tokens", f.max_tokens, "Max new tokens (<= 0: until EOS or a full context)")
      ->type_name("N")
      ->capture_default_str();
  cmd.add_option("--temp", f.temperature,
                 "Temperature; 0 = greedy (default, as the official examples)")
      ->type_name("T")
      ->check(kFinite)
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd.add_option("--top-p", f.top_p, "Nucleus sampling mass (1 = off)")
      ->type_name("P")
      ->check(kFinite)
      ->check(CLI::Range(1e-9, 1.0))
      ->capture_default_str();
  cmd.add_option("--top-k", f.top_k, "Keep the K most likely tokens (0 = off)")
      ->type_name("K")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_option("-s,--seed", f.seed, "Sampling seed (same seed + prompt = same answer)")
      ->type_name("S")
      ->check(kSeed)
      ->capture_default_str();
  cmd.add_option("--repeat-penalty", f.repeat_penalty, "Repetition penalty (1 = off)")
      ->type_name("R")
      ->check(kFinite)
      ->check(CLI::Range(1e-3, 100.0))
      ->capture_default_str();
}

namespace {

// A one-line bar redrawn in place: "loading [########------] 40% text model".
void draw_progress(double f, const std::string& stage) {
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(std::lround(std::clamp(f, 0.0, 1.0) * kWidth));
  std::string bar(filled, '#');
  bar.append(kWidth - filled, '-');
  std::fprintf(stderr, "\r\033[2Kloading [%s] %3d%% %s", bar.c_str(), static_cast<int>(f * 100), stage.c_str());
  if (f >= 1.0) std::fprintf(stderr, "\r\033[2K");
  std::fflush(stderr);
}

}  // namespace

Device parse_device_flag(const std::string& s) {
  if (s == "cpu") return Device::cpu();
  if (s == "cuda") return Device::cuda(0);
  if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.size() < 9 &&
      s.find_first_not_of("0123456789", 5) == std::string::npos)
    return Device::cuda(std::stoi(s.substr(5)));
  throw Error(ErrorCategory::invalid_argument,
              fmt::format("--device '{}' is not a device; use cpu, cuda or cuda:N", s));
}

std::unique_ptr<engine::Engine> open_engine(const ModelFlags& f, const OpenStyle& style) {
  engine::EngineOptions opts;
  opts.model_dir = f.model_dir;
  opts.require_tokenizer = style.require_tokenizer;
  opts.prefill_chunk = style.prefill_chunk;
  opts.tp = style.tp;
  opts.max_context = f.ctx_size;
  const Device dev = parse_device_flag(f.device);  // a bad value is a usage error (exit 2)
  opts.backend = dev.is_cuda() ? engine::Backend::cuda : engine::Backend::cpu;
  opts.device = dev.index;
  opts.precision = precision_flag(f.precision);
  opts.resize_compat = resize_compat_flag(f.resize_compat);
  if (!f.quant.empty()) opts.quant = *llm::quant_scheme_from_name(f.quant);  // checked by the flag
  if (opts.model_dir.empty()) {
    opts.model_dir = default_model_dir();
    if (style.note_default)
      std::fprintf(stderr,
                 "minimax-vl: note: no -m given, using the bundled tiny random demo model (%s); its "
                 "answers are gibberish. Pass -m /path/to/MiniMax-VL-01 for real answers.\n",
                 opts.model_dir.c_str());
  }
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  engine::ProgressFn progress;
  if (tty) progress = draw_progress;
  return load_phase([&] { return engine::Engine::open(opts, progress); });
}

engine::RequestHandle run_streaming(engine::Engine& e, engine::Request r, bool stream) {
  if (stream) {
    r.on_event = [](const engine::Event& ev) {
      if (const auto* t = std::get_if<engine::TokenEvent>(&ev)) {
        if (!t->piece.empty()) {
          std::fwrite(t->piece.data(), 1, t->piece.size(), stdout);
          std::fflush(stdout);
        }
      }
    };
  }
  InterruptGuard::reset();
  InterruptGuard::set_generating(true);
  engine::RequestHandle h = e.submit(std::move(r));
  bool cancelled = false;
  while (!h.wait_for(50)) {
    if (!cancelled && InterruptGuard::interrupted()) {
      h.cancel();
      cancelled = true;
    }
  }
  InterruptGuard::set_generating(false);
  return h;
}

void check_image_path(const std::string& path) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  MVL_CHECK(std::filesystem::exists(st), not_found, "image '{}': no such file; check the path", path);
  MVL_CHECK(std::filesystem::is_regular_file(st), invalid_argument, "image '{}': not a regular file", path);
}

void throw_if_error(const engine::RequestHandle& h) {
  if (!h.error()) return;
  const auto& ev = *h.error();
  throw PhaseError(ev.phase == engine::ErrorPhase::input ? kExitInput : kExitError, ev.error);
}

json::Json model_json(const engine::Engine& e) {
  const auto& i = e.info();
  return json::Json{{"dir", i.dir},
                    {"layout", i.layout},
                    {"backend", i.backend},
                    {"precision", i.precision},
                    {"layers", i.num_layers},
                    {"hidden_size", i.hidden_size},
                    {"vocab_size", i.vocab_size},
                    {"max_context", e.max_context()},
                    {"parameters", i.num_parameters},
                    {"has_vision", i.has_vision},
                    {"tiny_demo", i.tiny_demo}};
}

json::Json result_json(const engine::DoneEvent& d) {
  json::Json images = json::Json::array();
  for (const auto& im : d.images) {
    images.push_back({{"path", im.path},
                      {"width", im.width},
                      {"height", im.height},
                      {"grid", {im.grid_rows, im.grid_cols}},
                      {"image_tokens", im.image_tokens},
                      {"preprocess_ms", im.preprocess_ms},
                      {"encode_ms", im.encode_ms}});
  }
  const auto& u = d.usage;
  const auto& t = d.timings;
  return json::Json{
      {"answer", d.text},
      {"finish_reason", engine::stop_reason_name(d.reason)},
      {"images", images},
      {"usage",
       {{"prompt_tokens", u.prompt_tokens},
        {"image_tokens", u.image_tokens},
        {"completion_tokens", u.completion_tokens},
        {"total_tokens", u.prompt_tokens + u.completion_tokens}}},
      {"timings",
       {{"load_ms", t.load_ms},
        {"image_encode_ms", t.image_encode_ms},
        {"prefill_ms", t.prefill_ms},
        {"prefill_tokens_per_s", t.prefill_tokens_per_s},
        {"ttft_ms", t.ttft_ms},
        {"decode_ms", t.decode_ms},
        {"decode_tokens_per_s", t.decode_tokens_per_s},
        {"total_ms", t.total_ms}}},
  };
}

std::string stats_line(const engine::DoneEvent& d) {
  const auto& t = d.timings;
  const auto& u = d.usage;
  std::string s = fmt::format("load {:.0f} ms", t.load_ms);
  if (!d.images.empty())
    s += fmt::format(" | {} image(s), {} tokens, encode {:.0f} ms", d.images.size(), u.image_tokens,
                     t.image_encode_ms);
  s += fmt::format(" | prompt {} tokens, {:.1f} tok/s | first token {:.0f} ms | {} tokens, {:.1f} tok/s | {}",
                   u.prompt_tokens, t.prefill_tokens_per_s, t.ttft_ms, u.completion_tokens,
                   t.decode_tokens_per_s, engine::stop_reason_name(d.reason));
  return s;
}

}  // namespace mvl::cli
