// Engine: the one session engine shared by the CLI, the desktop app and the eval runner.
// It owns the loaded model and ONE worker thread that runs requests in submission order;
// front ends submit() a Request and get a RequestHandle (cancel, wait). Events reach the
// request's callback on the worker thread. Contract: app/engine/README.md.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/engine/core/chat_types.h"
#include "app/engine/core/events.h"
#include "app/engine/core/model_api.h"
#include "app/engine/core/options.h"
#include "app/engine/core/session.h"

namespace mvl::engine {

// A raw prompt: token ids (or text with special tokens parsed) with image slots, no chat
// template, no session: a fresh model state per request. The parity commands (`generate`,
// `logits`) and `bench --path model` use it, so they run the road `ask` runs.
struct RawPrompt {
  std::vector<int32_t> ids;         // the whole prompt; each ModelInfo::image_token_id is an image slot
  std::string text;                 // used when ids is empty: encoded with special tokens parsed
  std::vector<std::string> images;  // one file per image slot, in order
  bool all_logits = false;          // DoneEvent::logits = f32 [positions, vocab] on the host
  bool prefill_only = false;        // no tokens sampled (with all_logits: `logits`)
  bool ignore_eos = false;          // keep sampling past EOS (the options' max_tokens still stops)
  bool decode_graphs = true;        // false: decode op by op (bench times both)
};

struct Request {
  enum class Kind {
    turn,        // append a user message built from `content`, then answer it
    regenerate,  // drop the last answer (state restored to its snapshot), answer again
    raw,         // `raw`: ids + images, no template; `session` unused (may be null)
  };
  std::shared_ptr<Session> session;
  Kind kind = Kind::turn;
  std::vector<ContentPart> content;  // turn only: the user message, in order
  RawPrompt raw;                     // raw only
  GenerateOptions options;
  EventCallback on_event;            // called on the worker thread; must not block long
};

// Shared between a handle and the worker.
struct RequestState {
  std::atomic<bool> cancel{false};
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::optional<DoneEvent> done;    // set when it ended normally (cancel included)
  std::optional<ErrorEvent> error;  // set when it failed
};

class RequestHandle {
 public:
  RequestHandle() = default;
  explicit RequestHandle(std::shared_ptr<RequestState> s) : s_(std::move(s)) {}
  // Asks the request to stop; it ends with StopReason::cancelled at the next check
  // (one decode step, one prefill chunk or one ViT tile). Safe from any thread.
  void cancel() const { s_->cancel.store(true); }
  bool finished() const;
  void wait() const;
  bool wait_for(int timeout_ms) const;  // true when finished
  // After finished(): exactly one of these is set.
  const std::optional<DoneEvent>& done() const { return s_->done; }
  const std::optional<ErrorEvent>& error() const { return s_->error; }

 private:
  std::shared_ptr<RequestState> s_;
};

// Load progress: fraction in [0, 1] and a short stage name ("weights", "vision", ...).
using ProgressFn = std::function<void(double fraction, const std::string& stage)>;

class Engine {
 public:
  // Opens a checkpoint dir (checkpoint.cpp). Throws Error; the caller tags it as a load
  // failure.
  static std::unique_ptr<Engine> open(const EngineOptions& opts, const ProgressFn& progress = {});

  // Takes an already built model (a fake one in tests). load_ms is reported in DoneEvents.
  Engine(LoadedModel model, EngineOptions opts = {}, double load_ms = 0);
  ~Engine();  // cancels queued and running requests, then joins the worker
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const ModelInfo& info() const { return model_.info; }
  double load_ms() const { return load_ms_; }
  int64_t max_context() const;
  bool has_vision() const { return model_.vision != nullptr; }

  std::shared_ptr<Session> new_session(std::string system_prompt = kDefaultSystemPrompt) const;
  // Decodes + preprocesses an image now, on the calling thread (thread-safe), so a front
  // end can reject a bad file before submitting. Throws Error.
  std::shared_ptr<const PreparedImage> prepare_image(const std::string& path) const;

  // Queues the request. Throws Error{invalid_argument} for a malformed request (no
  // session for a turn, images on a text-only model); everything else is reported by events.
  RequestHandle submit(Request r);
  size_t queued() const;

 private:
  struct Job {
    Request request;
    std::shared_ptr<RequestState> state;
    double submitted_ms;
  };
  void worker_loop();
  void run_job(Job& job);

  LoadedModel model_;
  EngineOptions opts_;
  double load_ms_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::shared_ptr<RequestState> running_;
  bool stopping_ = false;
  std::thread worker_;  // last member: started after everything else is initialised
};

double now_ms();  // steady clock, milliseconds

}  // namespace mvl::engine
