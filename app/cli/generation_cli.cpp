// Shared flag table, engine opening, the streaming loop and result JSON for ask/chat.
#include "app/cli/generation_cli.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "app/cli/command.h"
#include "app/cli/load_bar.h"
#include "app/cli/signals.h"

namespace mvl::cli {

std::unique_ptr<engine::Engine> open_engine(const ModelFlags& f, const OpenStyle& style) {
  engine::EngineOptions opts;
  opts.model_dir = f.model_dir;
  opts.require_tokenizer = style.require_tokenizer;
  opts.prefill_chunk = style.prefill_chunk;
  opts.tp = f.tp;
  opts.rank = f.rank;
  opts.rendezvous = f.rendezvous;
  opts.max_context = f.ctx_size;
  opts.prefill_ubatch = f.ubatch;
  const Device dev = parse_device_flag(f.device);  // a bad value is a usage error (exit 2)
  opts.backend = dev.is_cuda() ? engine::Backend::cuda : engine::Backend::cpu;
  opts.device = dev.index;
  opts.precision = precision_flag(f.precision);
  opts.resize_compat = resize_compat_flag(f.resize_compat);
  opts.max_image_tokens = f.max_image_tokens;
  if (!f.quant.empty()) opts.quant = *llm::quant_scheme_from_name(f.quant);  // checked by the flag
  if (opts.model_dir.empty()) {
    opts.model_dir = default_model_dir();
    if (style.note_default)
      std::fprintf(stderr,
                 "minimax-vl: note: no -m given, using the bundled tiny document model (%s): 7M "
                 "parameters trained on synthetic receipts, invoices, forms and tables; it reads totals "
                 "well and other fields poorly. Pass -m /path/to/MiniMax-VL-01 for the real model.\n",
                 opts.model_dir.c_str());
  }
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  engine::LoadProgressFn progress;
  if ((tty || f.progress) && !style.quiet) progress = LoadBar(stderr, tty);
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
