// `minimax-vl serve`: the CLI edge of the OpenAI-compatible server (app/server). Parses
// flags (the API key may also come from MINIMAX_VL_API_KEY, read here and nowhere else),
// opens the engine, and turns SIGTERM/SIGINT into a graceful shutdown: signals are blocked
// in every thread and taken by one sigwait() thread, so no handler touches the server.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "app/cli/command.h"
#include "app/cli/generation_cli.h"
#include "app/engine/loading/checkpoint.h"
#include "app/engine/loading/install_paths.h"
#include "app/server/server.h"
#include "kernels/ops/device.h"

namespace mvl::cli {
namespace {

struct ServeFlags {
  ModelFlags model;
  server::ServerOptions srv;
  float temperature = 0.0f;
  float top_p = 1.0f;
  int64_t max_body_mb = 64;
  std::string temp_dir;
  bool random_weights = false;  // the first --layers layers of --config, random, on --device
  std::string config = "configs/minimax-vl-01.json";
  int64_t layers = 4;
};

// `serve --random-weights`: the real model path at the released shapes without a
// checkpoint (throughput runs on a GPU); the chat template and tokenizer come from -m or the
// bundled model.
std::unique_ptr<engine::Engine> open_random_engine(const ServeFlags& f) {
  const Device dev = parse_device_flag(f.model.device);
  return load_phase([&] {
    const ops::DeviceContext ctx =
        dev.is_cuda() ? ops::DeviceContext::open(dev) : ops::DeviceContext{};
    engine::LoadedModel m = engine::load_random_chat_model(
        f.config, f.layers,
        f.model.model_dir.empty() ? engine::bundled_model_dir() : f.model.model_dir, ctx);
    engine::EngineOptions eo;
    eo.max_context = f.model.ctx_size;
    eo.backend = dev.is_cuda() ? engine::Backend::cuda : engine::Backend::cpu;
    eo.device = dev.index;
    return std::make_unique<engine::Engine>(std::move(m), eo);
  });
}

int run_serve(ServeFlags f) {
  // Before any thread exists (the engine starts one): every thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);  // our own wake-up when serve() ends without a signal
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a client that left must not kill the server

  std::atomic<server::Server*> live{nullptr};
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig == SIGUSR1) return;
    stop.store(true);
    server::Server* s = live.load();
    if (!s) {
      std::fprintf(stderr, "minimax-vl serve: interrupted while loading\n");
      std::_Exit(sig == SIGINT ? kExitInterrupted : kExitOk);
    }
    std::fprintf(stderr, "minimax-vl serve: %s: finishing in-flight requests, then exiting\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
    s->shutdown();
  });
  struct JoinWatcher {
    std::thread& t;
    ~JoinWatcher() {
      pthread_kill(t.native_handle(), SIGUSR1);
      t.join();
    }
  } join{watcher};

  auto eng = f.random_weights ? open_random_engine(f) : open_engine(f.model);
  auto& o = f.srv;
  if (o.model_id.empty()) o.model_id = std::filesystem::path(eng->info().dir).filename().string();
  if (o.model_id.empty()) o.model_id = "minimax-vl";
  o.max_body_bytes = f.max_body_mb << 20;
  o.default_sampling.temperature = f.temperature;
  o.default_sampling.top_p = f.top_p;
  // Images from data: URLs are written here for decoding and deleted at once.
  std::error_code ec;
  if (f.temp_dir.empty())
    f.temp_dir = (std::filesystem::temp_directory_path(ec) / "minimax-vl-serve").string();
  std::filesystem::create_directories(f.temp_dir, ec);
  o.media.temp_dir = f.temp_dir;
  if (!o.media.allowed_media_path.empty()) {
    MVL_CHECK(std::filesystem::is_directory(o.media.allowed_media_path), invalid_argument,
              "--allowed-media-path '{}' is not a directory", o.media.allowed_media_path);
  }
  server::Server srv(*eng, o);
  const int port = srv.bind();
  live.store(&srv);
  if (o.host != "127.0.0.1" && o.host != "localhost" && o.host != "::1" && o.api_key.empty())
    std::fprintf(stderr,
                 "minimax-vl serve: warning: listening on %s without --api-key; anyone who can "
                 "reach this address can use the model\n",
                 o.host.c_str());
  std::printf("minimax-vl serve: listening on http://%s:%d (model '%s', %d slots, queue %d)\n",
              o.host.c_str(), port, o.model_id.c_str(), o.parallel, o.queue_limit);
  std::fflush(stdout);
  if (!stop.load()) srv.serve();
  live.store(nullptr);
  std::fprintf(stderr, "minimax-vl serve: stopped\n");
  return kExitOk;
}

}  // namespace

void add_serve_command(CLI::App& app, RunFn& run) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve the model over an OpenAI-compatible HTTP API (chat completions with images,\n"
      "streaming, /v1/models, /health, /metrics). Binds 127.0.0.1 unless --host says otherwise.\n"
      "  minimax-vl serve -m /models/MiniMax-VL-01 --device cuda --port 8080\n"
      "  curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n"
      "    -d '{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}'\n"
      "See docs/server.md.");
  add_model_flags(*cmd, f->model);
  auto& o = f->srv;
  cmd->add_flag(
      "--random-weights", f->random_weights,
      "Serve --layers decoder layers of --config with random weights (the first N-1 and a "
      "softmax layer; for throughput runs; the tokenizer comes from -m or the bundled "
      "model)");
  cmd->add_option("--config", f->config, "With --random-weights: the shapes (a config.json)")
      ->capture_default_str();
  cmd->add_option("--layers", f->layers, "With --random-weights: decoder layers to build")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--host", o.host, "Address to bind (0.0.0.0 = every interface)")
      ->capture_default_str();
  cmd->add_option("--port", o.port, "Port (0 = any free port, printed on stdout)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--api-key", o.api_key,
                  "Require 'Authorization: Bearer KEY' on /v1/* and /metrics (also from "
                  "$MINIMAX_VL_API_KEY)")
      ->envname("MINIMAX_VL_API_KEY");
  cmd->add_option("--alias", o.model_id,
                  "Model name reported by /v1/models (default: the model folder's name)");
  cmd->add_option("--parallel,--np", o.parallel, "Slots: requests handed to the engine at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--queue", o.queue_limit, "Requests waiting for a slot before 503 queue_full")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--max-body-mb", f->max_body_mb, "Largest request body in MiB (413 beyond)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--max-images", o.parse.max_images, "Images per request")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--max-image-pixels", o.media.max_image_pixels,
                  "Pixels (width x height) per image")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-prompt-tokens", o.max_prompt_tokens,
                  "Positions of a whole conversation, image rows included (0 = the context)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--allowed-media-path", o.media.allowed_media_path,
                  "Directory whose files may be named in image_url (file:///... or /...); "
                  "default: none, data: URLs only")
      ->type_name("DIR");
  add_max_tokens_flag(*cmd, o.default_max_tokens,
                      "Default max new tokens when a request gives none");
  add_temp_flag(*cmd, f->temperature, "Default temperature when a request gives none (0 = greedy)")
      ->check(CLI::Range(0.0, 2.0));
  add_top_p_flag(*cmd, f->top_p, "Default top_p when a request gives none");
  cmd->add_option("--cache-sessions", o.cache_sessions,
                  "Finished conversations kept so a follow-up turn prefills only its new message "
                  "(each keeps one model state; 0 = off)")
      ->capture_default_str();
  cmd->add_option("--shutdown-grace-ms", o.shutdown_grace_ms,
                  "On SIGTERM/SIGINT, let in-flight requests finish this long, then cancel them")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--temp-dir", f->temp_dir,
                  "Where data: URL images are written briefly for decoding")
      ->type_name("DIR");
  cmd->callback([f, &run] { run = [f] { return run_serve(*f); }; });
}

}  // namespace mvl::cli
