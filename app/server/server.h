// `minimax-vl serve`: an OpenAI-compatible HTTP server over the one session engine.
// POST /v1/chat/completions (text + images, SSE streaming or one JSON answer), GET
// /v1/models, /health, /metrics. Requests wait in a bounded queue for one of --parallel
// slots; the engine runs them. No HTTP types leak out of this header (design: HTTP only in
// app/server). Contract and flags: docs/server.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "app/engine/core/engine.h"
#include "app/server/chat_request.h"
#include "app/server/media.h"

namespace mvl::server {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback only unless asked
  int port = 8080;                 // 0 = any free port (bind() returns it)
  std::string api_key;             // "" = no auth; else "Authorization: Bearer KEY" on /v1/*
  std::string model_id;            // the name /v1/models reports
  int parallel = 16;               // slots: requests handed to the engine at once (batched)
  int queue_limit = 64;            // requests waiting for a slot; beyond: 503
  int64_t max_body_bytes = 64 << 20;
  int64_t max_prompt_tokens = 0;  // whole conversation, image rows included; 0 = the context
  int64_t default_max_tokens = 2048;
  engine::SamplingOptions default_sampling;  // used where the request says nothing
  size_t cache_sessions = 4;                 // conversations kept for prefix reuse (0 = off)
  int shutdown_grace_ms = 5000;              // on shutdown: let in-flight requests finish this long
  ParseLimits parse;
  MediaOptions media;
};

class Server {
 public:
  Server(engine::Engine& engine, ServerOptions opts);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port. Throws Error{io} when it cannot.
  int bind();
  // Serves until shutdown() (call bind() first). Returns after every connection ended.
  void serve();
  // From any thread (not a signal handler): refuse new requests (503), stop accepting,
  // give in-flight ones shutdown_grace_ms to finish, then cancel the rest. Blocks up to
  // about the grace period.
  void shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mvl::server
