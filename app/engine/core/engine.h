// Engine: the one session engine shared by the CLI, the desktop app, the eval runner and the
// server. It owns the loaded model and runs requests in submission order (one session's
// requests one after another); several requests run at once, continuously batched by a
// StepScheduler (step_scheduler.h): their decode steps share one forward pass, and a new
// prompt's prefill joins between steps. Front ends submit() a Request and get a
// RequestHandle (cancel, wait). Events reach the request's callback on its runner thread,
// never two callbacks at once. Contract: app/engine/README.md.
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
#include "app/engine/core/step_scheduler.h"
#include "kernels/core/clock.h"

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
  bool detokenize = true;           // false: ids only (no TokenEvent text, DoneEvent::text empty)
  // DoneEvent::prefill_chunk_ms: each prefill call's time, the device waited for (a 4-byte
  // read of its last logit ends each call), for benchmarks of long prompts.
  bool time_chunks = false;
  // DoneEvent::images[k].vit_ms / project_ms: each image's encode timed in two stages
  // (VisionEncoder::encode_staged; a device wait between them), for `bench --path vl`.
  bool time_stages = false;
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
  bool valid() const { return s_ != nullptr; }  // false for a default-constructed handle
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

// Load progress by bytes: what a front end needs for a bar with a rate and an ETA. Reported
// as weights are read (on a GPU: as each reaches the device), at most every ~0.5% of the
// bytes and at each stage change; bytes_done never goes down and equals bytes_total at
// "ready". Called on the loading thread(s), one call at a time.
struct LoadProgress {
  double fraction = 0;       // [0, 1]: config and tokenizer take the first 2%, weights the rest
  std::string stage;         // config | tokenizer | checkpoint | text model | vision | ready
  uint64_t bytes_done = 0;   // weight bytes loaded so far
  uint64_t bytes_total = 0;  // every tensor of the checkpoint (0 until it is opened)
  double elapsed_ms = 0;     // since the load began
};
using LoadProgressFn = std::function<void(const LoadProgress&)>;

class Engine {
 public:
  // Opens a checkpoint dir (checkpoint.cpp). Throws Error; the caller tags it as a load
  // failure.
  static std::unique_ptr<Engine> open(const EngineOptions& opts, const ProgressFn& progress = {});
  // The same with progress by bytes (LoadProgress).
  static std::unique_ptr<Engine> open(const EngineOptions& opts, const LoadProgressFn& progress);

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
  // The anyres grid a width x height image gets (loading/tile_map.h), under the current
  // token budget. Throws Error{unsupported} for a text-only model.
  TileMap tile_map(int64_t width, int64_t height) const;
  // --max-image-tokens at run time: images prepared from now on use it (0: none).
  void set_max_image_tokens(int64_t n);
  int64_t max_image_tokens() const { return max_image_tokens_.load(); }

  // Queues the request. Throws Error{invalid_argument} for a malformed request (no
  // session for a turn, images on a text-only model); everything else is reported by events.
  RequestHandle submit(Request r);
  size_t queued() const;
  // Decode steps run so far and their batch sizes (continuous batching at work).
  SchedulerStats scheduler_stats() const { return sched_->stats(); }
  // LanguageModel::set_batch_decode_mode (benchmarks); only while no request is running.
  void set_batch_decode_mode(BatchDecodeMode mode) { model_.lm->set_batch_decode_mode(mode); }

 private:
  struct Job {
    Request request;
    std::shared_ptr<RequestState> state;
    double submitted_ms;
  };
  void worker_loop();
  void run_job(Job& job);
  // The first queued job whose session has no request running (queue_.end() if none).
  std::deque<Job>::iterator next_job();

  LoadedModel model_;  // model_.lm is a ScheduledLm over the loaded model
  EngineOptions opts_;
  double load_ms_;
  std::unique_ptr<StepScheduler> sched_;
  std::atomic<int64_t> max_image_tokens_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::vector<std::shared_ptr<RequestState>> running_;
  std::vector<const Session*> busy_sessions_;
  bool stopping_ = false;
  int idle_ = 0;                      // runner threads waiting for a job
  std::vector<std::thread> workers_;  // started on demand, up to opts_.max_running
};

using mvl::now_ms;  // kernels/core/clock.h: steady clock, milliseconds (engine::now_ms for front ends)

}  // namespace mvl::engine
