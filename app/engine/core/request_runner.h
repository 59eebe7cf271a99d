// RequestRunner: runs one Request on the worker thread: prepares and encodes images,
// feeds what the session's state lacks (earlier turns are never re-fed), samples, streams
// TokenEvents and returns the DoneEvent. Errors are thrown; InputError marks the ones
// caused by the request's own data.
#pragma once

#include <atomic>
#include <utility>

#include "app/engine/core/engine.h"

namespace mvl::engine {

class InputError : public Error {
 public:
  explicit InputError(const Error& e) : Error(e) {}
};

// Runs f, marking any Error it throws as caused by the request's own data.
template <typename F>
decltype(auto) input_step(F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (const InputError&) {
    throw;
  } catch (const Error& e) {
    throw InputError(e);
  }
}

class RequestRunner {
 public:
  RequestRunner(LoadedModel& model, const EngineOptions& opts, double load_ms)
      : model_(model), opts_(opts), load_ms_(load_ms) {}
  // Emits TokenEvents through r.on_event; returns the DoneEvent (not emitted). On a throw
  // the session is rolled back to the transcript it had before the request.
  DoneEvent run(Request& r, const std::atomic<bool>& cancel);
  // A Request::Kind::raw (raw_request.cpp): a fresh state, no transcript.
  DoneEvent run_raw(Request& r, const std::atomic<bool>& cancel);

 private:
  // Positions that build_segments will produce; prepares (decodes) images not prepared yet.
  // Throws InputError as soon as the count must exceed `budget` positions: before tokenizing
  // text that cannot fit, and before decoding the images after the one that overflows.
  int64_t count_positions(Session& s, size_t from, size_t to, int64_t budget);
  // The segments of messages [from, to) plus the session's pending ids, images encoded.
  std::vector<Segment> build_segments(Session& s, size_t from, size_t to, DoneEvent& done,
                                      const std::atomic<bool>& cancel);
  // Feeds segments in calls of opts_.prefill_chunk positions while other requests are in
  // the engine, of opts_.prefill_ubatch alone (prefill_chunk <= 0: one call), counting
  // them in fed_; false when cancelled. logits: the last position's, on the model's device.
  // all_logits: also every position's, f32 on the host, one tensor per chunk.
  bool feed(ModelState& state, const std::vector<Segment>& segs, Tensor& logits,
            const std::atomic<bool>& cancel, std::vector<Tensor>* all_logits = nullptr);
  DoneEvent generate(Request& r, Session& s, Tensor logits, DoneEvent done, double t_start,
                     const std::atomic<bool>& cancel);
  // Encodes one image into its rows (InputError for a bad file), filling the reports.
  Tensor encode_image(const std::string& path, std::shared_ptr<const PreparedImage> prep,
                      DoneEvent& done, const std::atomic<bool>& cancel);
  // Ids the sampler may choose: [0, min(model vocab, tokenizer vocab)).
  int64_t vocab_limit() const;

  LoadedModel& model_;
  const EngineOptions& opts_;
  double load_ms_;
  int64_t fed_ = 0;  // positions fed by the last feed()
  std::vector<double>* chunk_ms_ = nullptr;  // set: feed() times each prefill call into it
  bool time_stages_ = false;  // set: encode_image() times the ViT and the projector apart
};

}  // namespace mvl::engine
