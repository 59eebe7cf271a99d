// Server: routing, bearer-key auth, the OpenAI error object for every failure (incl. the
// library's own 404/413), GET endpoints, admission control and graceful shutdown.
#include "app/server/server.h"

#include <chrono>
#include <ctime>
#include <thread>

#include "app/server/openai_json.h"
#include "app/server/server_impl.h"
#include "kernels/core/log.h"

namespace mvl::server {

bool Admission::reserve() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closing_ || waiting_ >= queue_limit_ + std::max(0, slots_ - active_)) return false;
  ++waiting_;
  return true;
}

void Admission::unreserve() {
  std::lock_guard<std::mutex> lock(mu_);
  --waiting_;
}

int Admission::wait_slot(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  const bool ready = cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                  [&] { return closing_ || active_ < slots_; });
  if (closing_) {
    --waiting_;
    return -1;
  }
  if (!ready) return 0;
  --waiting_;
  ++active_;
  return 1;
}

void Admission::release() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --active_;
  }
  cv_.notify_all();
}

void Admission::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
}

int64_t Admission::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_;
}

int64_t Admission::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

Server::Impl::Impl(engine::Engine& e, ServerOptions o)
    : engine(e),
      opts(std::move(o)),
      media(opts.media),
      admission(opts.parallel, opts.queue_limit),
      cache(opts.cache_sessions),
      created(static_cast<int64_t>(std::time(nullptr))) {
  MVL_CHECK(opts.parallel >= 1, invalid_argument, "--parallel must be at least 1");
  MVL_CHECK(opts.queue_limit >= 0, invalid_argument, "--queue must be 0 or more");
  // Every waiting or running request holds one HTTP thread (streams write from it), so the
  // pool covers slots + queue, plus a few for /health, /metrics and refusals.
  const size_t threads = static_cast<size_t>(opts.parallel + opts.queue_limit + 4);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(static_cast<size_t>(opts.max_body_bytes));
  http.set_keep_alive_timeout(5);
  http.set_read_timeout(30);
  http.set_write_timeout(30);
  routes();
}

std::string Server::Impl::next_id() {
  return fmt::format("chatcmpl-{:x}{:06x}", created, counter.fetch_add(1));
}

void Server::Impl::send_error(httplib::Response& res, const ApiError& e,
                              const std::string& endpoint) {
  res.status = e.status;
  if (e.status == 503 || e.status == 429) res.set_header("Retry-After", "1");
  res.set_content(dump(error_json(e)), "application/json");
  metrics.request(endpoint, e.status);
}

uint64_t Server::Impl::track(const engine::RequestHandle& h) {
  std::lock_guard<std::mutex> lock(handles_mu);
  handles[++next_handle] = h;
  return next_handle;
}

void Server::Impl::untrack(uint64_t id) {
  std::lock_guard<std::mutex> lock(handles_mu);
  handles.erase(id);
}

void Server::Impl::cancel_all() {
  std::lock_guard<std::mutex> lock(handles_mu);
  for (auto& [id, h] : handles) h.cancel();
}

void Server::Impl::routes() {
  // Auth before the body is read: a wrong key never costs a large upload.
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (opts.api_key.empty() || req.path == "/health")
      return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    if (auth != "Bearer " + opts.api_key) {
      send_error(res,
                 ApiError(401, "authentication_error", "invalid_api_key",
                          auth.empty() ? "missing API key: send 'Authorization: Bearer KEY'"
                                       : "invalid API key"),
                 req.path);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // The library's own refusals (no route, body over the limit) get the OpenAI error object.
  http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                     httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 413) {
      send_error(res,
                 ApiError(413, "invalid_request_error", "request_too_large",
                          fmt::format("the request body is larger than {} bytes (--max-body-mb)",
                                      opts.max_body_bytes)),
                 req.path);
    } else if (res.status == 404) {
      send_error(res,
                 ApiError(404, "invalid_request_error", "not_found",
                          "no such endpoint: " + req.method + " " + req.path),
                 "other");
    } else {
      send_error(res,
                 ApiError(res.status, "invalid_request_error", "",
                          fmt::format("HTTP {} for {} {}", res.status, req.method, req.path)),
                 "other");
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const ApiError& e) {
          send_error(res, e, req.path);
        } catch (const std::exception& e) {
          send_error(res, ApiError(500, "server_error", "internal", e.what()), req.path);
        }
      });

  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (closing.load()) {
      send_error(res, ApiError(503, "server_error", "shutting_down", "the server is shutting down"),
                 "/health");
      return;
    }
    res.set_content(dump(json::Json{{"status", "ok"},
                                    {"slots", opts.parallel},
                                    {"active", admission.active()},
                                    {"queued", admission.waiting()}}),
                    "application/json");
    metrics.request("/health", 200);
  });
  auto models = [this](const httplib::Request& req, httplib::Response& res) {
    res.set_content(dump(models_json(opts.model_id, created)), "application/json");
    metrics.request(req.path, 200);
  };
  http.Get("/v1/models", models);
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    metrics.request("/metrics", 200);
    // Continuous batching at work: mean batch = sequences / steps.
    const engine::SchedulerStats st = engine.scheduler_stats();
    res.set_content(
        metrics.render(admission.active(), admission.waiting(), opts.parallel,
                       static_cast<int64_t>(cache.size())) +
            fmt::format("# HELP mvl_decode_steps_total Decode steps the engine ran (one forward "
                        "pass for every decoding sequence).\n"
                        "# TYPE mvl_decode_steps_total counter\nmvl_decode_steps_total {}\n"
                        "# HELP mvl_decode_step_sequences_total Sequences those steps advanced "
                        "(the sum of their batch sizes).\n"
                        "# TYPE mvl_decode_step_sequences_total counter\n"
                        "mvl_decode_step_sequences_total {}\n"
                        "# HELP mvl_decode_batch_max The largest decode batch so far.\n"
                        "# TYPE mvl_decode_batch_max gauge\nmvl_decode_batch_max {}\n",
                        st.steps(), st.decoded(), st.max_batch()),
        "text/plain; version=0.0.4");
  });
  http.Post("/v1/chat/completions",
            [this](const httplib::Request& req, httplib::Response& res) { handle_chat(req, res); });
}

Server::Server(engine::Engine& engine, ServerOptions opts)
    : impl_(std::make_unique<Impl>(engine, std::move(opts))) {}

Server::~Server() = default;

int Server::bind() {
  const auto& o = impl_->opts;
  int port = o.port;
  if (port == 0)
    port = impl_->http.bind_to_any_port(o.host);
  else if (!impl_->http.bind_to_port(o.host, port))
    port = -1;
  MVL_CHECK(port > 0, io, "cannot listen on {}:{} (in use, or not an address of this machine)",
            o.host, o.port);
  if (!impl_->http.widen_backlog(o.parallel + o.queue_limit + 64))
    MVL_LOG_WARN("could not raise the listen backlog; bursts of clients may see resets");
  return port;
}

void Server::serve() {
  impl_->http.listen_after_bind();
}

void Server::shutdown() {
  Impl& s = *impl_;
  if (s.closing.exchange(true)) return;
  s.admission.close();  // waiting requests get 503; new ones too
  s.http.stop();        // no new connections; serve() returns once handlers finished
  // Let running requests finish for the grace period, then cancel whatever still runs (a
  // cancel lands within one decode step, prefill chunk or ViT tile). Bounded either way.
  using clock = std::chrono::steady_clock;
  const auto grace_end = clock::now() + std::chrono::milliseconds(s.opts.shutdown_grace_ms);
  const auto hard_end = grace_end + std::chrono::seconds(60);
  bool cancelled = false;
  while (s.admission.active() > 0 && clock::now() < hard_end) {
    if (clock::now() >= grace_end) {
      if (!cancelled)
        MVL_LOG_INFO("shutdown: cancelling {} request(s) still running after {} ms",
                     s.admission.active(), s.opts.shutdown_grace_ms);
      cancelled = true;
      s.cancel_all();  // again each round: a request may have been submitted meanwhile
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace mvl::server
