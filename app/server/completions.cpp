// POST /v1/chat/completions: parse -> resolve images -> reserve a queue place -> wait for a
// slot -> continue a cached session or start one -> submit to the engine -> stream SSE
// chunks (or answer once). A failed write means the client left: the request is cancelled
// and its slot freed. Every exit path releases the slot and untracks the handle.
#include <deque>
#include <random>

#include "app/server/openai_json.h"
#include "app/server/server_impl.h"
#include "kernels/core/log.h"

namespace mvl::server {
namespace {

using engine::ContentPart;
using engine::Message;
using engine::Role;

}  // namespace

// What one completion needs once it holds a slot; shared by the handler, the stream
// provider and the engine's event callback.
struct Job {
  std::vector<Message> history;  // the conversation before the last user message
  std::vector<ContentPart> content;
  engine::GenerateOptions options;
  CompletionIds ids;
  bool include_usage = false;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<engine::Event> events;
  int64_t cached = 0;  // positions reused from a cached session

  std::shared_ptr<engine::Session> session;
  engine::RequestHandle handle;
  uint64_t track_id = 0;
  bool provider_ran = false;  // the stream started (else the releaser gives the place back)
};

namespace {

ApiError engine_error(const engine::ErrorEvent& e) {
  if (e.phase == engine::ErrorPhase::input) {
    const bool ctx = e.error.category() == ErrorCategory::out_of_memory;
    return bad_request(e.error.what(), "messages",
                       ctx ? "context_length_exceeded" : "invalid_request");
  }
  return ApiError(500, "server_error", "internal", e.error.what());
}

std::string joined_text(const InputMessage& m) {
  std::string t;
  for (const auto& p : m.parts)
    if (!p.is_image) t += p.text;
  return t;
}

}  // namespace

void Server::Impl::handle_chat(const httplib::Request& req, httplib::Response& res) {
  const std::string ep = "/v1/chat/completions";
  auto job = std::make_shared<Job>();
  ChatRequest cr;
  try {
    if (closing.load())
      throw ApiError(503, "server_error", "shutting_down", "the server is shutting down");
    cr = parse_chat_request(req.body, opts.parse);
    // The conversation as engine messages; images decoded and checked here, on this thread.
    size_t first = 0;
    std::string system = engine::kDefaultSystemPrompt;
    if (cr.messages[0].role == Role::system) {
      system = joined_text(cr.messages[0]);
      first = 1;
    }
    if (!system.empty()) {
      Message m;
      m.role = Role::system;
      m.parts.push_back(ContentPart::make_text(system));
      job->history.push_back(std::move(m));
    }
    for (size_t i = first; i < cr.messages.size(); ++i) {
      const InputMessage& in = cr.messages[i];
      Message m;
      m.role = in.role;
      if (in.role == Role::assistant) {
        m.parts.push_back(ContentPart::make_text(joined_text(in)));
      } else {
        for (size_t k = 0; k < in.parts.size(); ++k) {
          const InputPart& p = in.parts[k];
          if (!p.is_image)
            m.parts.push_back(ContentPart::make_text(p.text));
          else
            m.parts.push_back(
                media.resolve(p.image, engine, fmt::format("messages[{}].content[{}]", i, k)));
        }
      }
      if (i + 1 == cr.messages.size())
        job->content = std::move(m.parts);
      else
        job->history.push_back(std::move(m));
    }
    auto& go = job->options;
    go.max_tokens = cr.max_tokens.value_or(opts.default_max_tokens);
    go.sampling = opts.default_sampling;
    if (cr.temperature) go.sampling.temperature = *cr.temperature;
    if (cr.top_p) go.sampling.top_p = *cr.top_p;
    if (cr.seed)
      go.sampling.seed = *cr.seed;
    else if (go.sampling.temperature > 0)
      go.sampling.seed = std::random_device{}();
    go.stop_strings = cr.stop;
    go.max_prompt_tokens = opts.max_prompt_tokens;
    job->ids = CompletionIds{next_id(), static_cast<int64_t>(std::time(nullptr)), opts.model_id};
    job->include_usage = cr.include_usage;
    if (!admission.reserve())
      throw ApiError(
          503, "server_error", "queue_full",
          fmt::format("the server is busy ({} running, {} waiting; --parallel {}, "
                      "--queue {}); retry later",
                      admission.active(), admission.waiting(), opts.parallel, opts.queue_limit));
  } catch (const ApiError& e) {
    send_error(res, e, ep);
    return;
  } catch (const std::exception& e) {
    send_error(res, ApiError(500, "server_error", "internal", e.what()), ep);
    return;
  }

  if (!cr.stream) {
    int w;
    while ((w = admission.wait_slot(1000)) == 0) {
    }
    if (w < 0) {
      send_error(res, ApiError(503, "server_error", "shutting_down", "the server is shutting down"),
                 ep);
      return;
    }
    try {
      begin(*job);
    } catch (const std::exception& e) {
      admission.release();
      send_error(res, ApiError(500, "server_error", "internal", e.what()), ep);
      return;
    }
    job->handle.wait();
    finish(*job);
    if (job->handle.done()) {
      res.set_content(dump(completion_json(job->ids, *job->handle.done(), job->cached)),
                      "application/json");
      metrics.request(ep, 200);
    } else {
      send_error(res, engine_error(*job->handle.error()), ep);
    }
    return;
  }

  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  metrics.request(ep, 200);
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, job](size_t, httplib::DataSink& sink) {
        job->provider_ran = true;
        // Wait for a slot; an SSE comment each second notices a client that left.
        while (true) {
          const int w = admission.wait_slot(1000);
          if (w == 1) break;
          if (w < 0) {
            const std::string e = sse(error_json(
                ApiError(503, "server_error", "shutting_down", "the server is shutting down")));
            sink.write(e.data(), e.size());
            sink.done();
            return true;
          }
          static constexpr char kPing[] = ": waiting for a slot\n\n";
          if (!sink.write(kPing, sizeof(kPing) - 1)) {
            admission.unreserve();
            return false;
          }
        }
        try {
          begin(*job);
        } catch (const std::exception& e) {
          admission.release();
          const std::string msg =
              sse(error_json(ApiError(500, "server_error", "internal", e.what())));
          sink.write(msg.data(), msg.size());
          sink.done();
          return true;
        }
        bool alive = true;
        auto put = [&](const std::string& s) {
          if (alive && !sink.write(s.data(), s.size())) {
            alive = false;
            job->handle.cancel();  // the client left: stop at the next decode step
          }
        };
        put(sse(chunk_json(job->ids, std::string("assistant"), std::string(), std::nullopt)));
        while (alive) {
          std::optional<engine::Event> ev = pop_event(*job, 1000);
          if (!ev) {
            put(": keep-alive\n\n");
            continue;
          }
          if (const auto* t = std::get_if<engine::TokenEvent>(&*ev)) {
            if (!t->piece.empty())
              put(sse(chunk_json(job->ids, std::nullopt, t->piece, std::nullopt)));
          } else if (const auto* d = std::get_if<engine::DoneEvent>(&*ev)) {
            put(sse(chunk_json(job->ids, std::nullopt, std::nullopt,
                               std::string(finish_reason(d->reason)))));
            if (job->include_usage) put(sse(usage_chunk_json(job->ids, d->usage, job->cached)));
            put("data: [DONE]\n\n");
            break;
          } else {
            put(sse(error_json(engine_error(std::get<engine::ErrorEvent>(*ev)))));
            put("data: [DONE]\n\n");
            break;
          }
        }
        job->handle.wait();
        finish(*job);
        if (!alive) return false;
        sink.done();
        return true;
      },
      [this, job](bool) {
        // The headers never reached the client: the queue place was never used.
        if (!job->provider_ran) admission.unreserve();
      });
}

void Server::Impl::begin(Job& job) {
  std::shared_ptr<engine::Session> session = cache.take(job.history);
  if (session) {
    job.cached = session->context_length();
  } else {
    session = engine.new_session("");
    session->load(job.history);
  }
  engine::Request r;
  r.session = session;
  r.content = job.content;
  r.options = job.options;
  Job* j = &job;  // outlives the request: finish() waits for it
  r.on_event = [j](const engine::Event& ev) {
    {
      std::lock_guard<std::mutex> lock(j->mu);
      j->events.push_back(ev);
    }
    j->cv.notify_all();
  };
  job.session = session;
  job.handle = engine.submit(std::move(r));
  job.track_id = track(job.handle);
}

std::optional<engine::Event> Server::Impl::pop_event(Job& job, int timeout_ms) {
  std::unique_lock<std::mutex> lock(job.mu);
  if (!job.cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                       [&] { return !job.events.empty(); }))
    return std::nullopt;
  engine::Event e = std::move(job.events.front());
  job.events.pop_front();
  return e;
}

void Server::Impl::finish(Job& job) {
  job.handle.wait();
  untrack(job.track_id);
  admission.release();
  if (const auto& d = job.handle.done()) {
    const double ttft_s = (d->timings.queue_ms + d->timings.ttft_ms) / 1000.0;
    const double tpot_s = d->usage.completion_tokens > 1
                              ? d->timings.decode_ms / 1000.0 / (d->usage.completion_tokens - 1)
                              : 0;
    metrics.finished(finish_reason(d->reason), d->usage.prompt_tokens, d->usage.completion_tokens,
                     ttft_s, tpot_s);
    if (d->reason != engine::StopReason::cancelled) cache.put(job.session);
  } else {
    metrics.finished("error", 0, 0, 0, 0);
  }
  job.session.reset();
}

}  // namespace mvl::server
