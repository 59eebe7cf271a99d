// What a request reports while it runs: TokenEvent per sampled token (with a UTF-8-safe
// text piece), then exactly one DoneEvent (stop reason, usage, timings) or ErrorEvent.
// Events are delivered by calling an EventCallback on the engine's worker thread;
// EventQueue adapts that to a locked queue a UI thread drains once per frame.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/core/tensor.h"

namespace mvl::engine {

// Cancellation is a stop reason, not an error.
enum class StopReason { eos, max_tokens, stop_string, cancelled, context_full };
const char* stop_reason_name(StopReason r);  // "eos", "max_tokens", ... (also the JSON finish_reason)

// One image of the request, as the preprocessor and the vision tower saw it.
struct ImageReport {
  std::string path;
  int64_t width = 0, height = 0;        // original pixels
  int64_t grid_rows = 0, grid_cols = 0; // anyres tile grid (the thumbnail tile not counted)
  int64_t image_tokens = 0;             // embedding rows spliced into the prompt
  double preprocess_ms = 0;             // decode + resize + normalise
  double decode_ms = 0;                 // of which reading + decoding the file
  double encode_ms = 0;                 // ViT + projector + packing
  // RawPrompt::time_stages only: encode_ms split (each waited for on the device).
  double vit_ms = 0;                    // pixels -> ViT features
  double project_ms = 0;                // projector + packing (unpad, image_newline)
};

struct Usage {
  int64_t prompt_tokens = 0;       // positions prefilled by THIS request (image rows included)
  int64_t image_tokens = 0;        // of which image embedding rows
  int64_t completion_tokens = 0;   // tokens sampled (the EOS token included)
  int64_t context_tokens = 0;      // session length after the request
};

struct Timings {
  double load_ms = 0;              // model load (engine-wide, repeated in every DoneEvent)
  double image_encode_ms = 0;      // all images of the request
  double prefill_ms = 0;
  double prefill_tokens_per_s = 0;
  double ttft_ms = 0;              // request start (dequeued) -> first token
  double decode_ms = 0;
  double decode_tokens_per_s = 0;  // tokens after the first / decode_ms
  double queue_ms = 0;             // submitted -> dequeued
  double total_ms = 0;             // dequeued -> done
};

struct TokenEvent {
  int32_t id = 0;                  // -1: a final piece with no token of its own (held-back text)
  std::string piece;               // complete UTF-8 characters only; may be empty (held back
                                   // while it could still be a stop string or half a character)
};

struct DoneEvent {
  StopReason reason = StopReason::eos;
  std::string text;                // the whole answer (special tokens skipped)
  std::vector<int32_t> tokens;     // the whole answer's ids (EOS included when reason == eos)
  std::vector<ImageReport> images;
  Usage usage;
  Timings timings;
  // Raw requests only: every position's logits (RawPrompt::all_logits; f32 [n, vocab] on the
  // host), the time of each decode step (sample + decode, host clock) and the model's
  // one-line decode report (e.g. CUDA graph replays).
  Tensor logits;
  std::vector<double> step_ms;
  std::vector<double> prefill_chunk_ms;  // RawPrompt::time_chunks: one per prefill call
  std::string decode_report;
};

// Where an error came from: `input` = the request's own data (an unreadable image, a
// prompt over the context), `runtime` = everything else. The CLI maps them to exit 4 / 1.
enum class ErrorPhase { input, runtime };

struct ErrorEvent {
  Error error;
  ErrorPhase phase = ErrorPhase::runtime;
};

using Event = std::variant<TokenEvent, DoneEvent, ErrorEvent>;
using EventCallback = std::function<void(const Event&)>;

// A locked FIFO for front ends that must not run code on the worker thread (the desktop
// app): pass sink() as the request callback and drain() from the UI thread.
class EventQueue {
 public:
  EventCallback sink();
  void push(Event e);
  std::vector<Event> drain();                  // everything queued now, oldest first
  bool wait_for(int timeout_ms);               // true when something is queued
  // Called after every push (e.g. glfwPostEmptyEvent to wake an idle UI loop).
  void set_notify(std::function<void()> fn);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
  std::function<void()> notify_;
};

}  // namespace mvl::engine
