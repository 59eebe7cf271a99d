// RequestRunner: runs one Request on the worker thread: prepares and encodes images,
// feeds what the session's state lacks (earlier turns are never re-fed), samples, streams
// TokenEvents and returns the DoneEvent. Errors are thrown; InputError marks the ones
// caused by the request's own data.
#pragma once

#include <atomic>

#include "app/engine/core/engine.h"

namespace mvl::engine {

class InputError : public Error {
 public:
  explicit InputError(const Error& e) : Error(e) {}
};

class RequestRunner {
 public:
  RequestRunner(LoadedModel& model, const EngineOptions& opts, double load_ms)
      : model_(model), opts_(opts), load_ms_(load_ms) {}
  // Emits TokenEvents through r.on_event; returns the DoneEvent (not emitted). On a throw
  // the session is rolled back to the transcript it had before the request.
  DoneEvent run(Request& r, const std::atomic<bool>& cancel);

 private:
  // Positions that build_segments will produce; prepares (decodes) images not prepared yet.
  // Throws InputError as soon as the count must exceed `budget` positions: before tokenizing
  // text that cannot fit, and before decoding the images after the one that overflows.
  int64_t count_positions(Session& s, size_t from, size_t to, int64_t budget);
  // The segments of messages [from, to) plus the session's pending ids, images encoded.
  std::vector<Segment> build_segments(Session& s, size_t from, size_t to, DoneEvent& done,
                                      const std::atomic<bool>& cancel);
  // Feeds segments in chunks of opts_.prefill_chunk positions; false when cancelled.
  bool feed(Session& s, const std::vector<Segment>& segs, std::vector<float>& logits,
            const std::atomic<bool>& cancel);
  DoneEvent generate(Request& r, Session& s, std::vector<float> logits, DoneEvent done,
                     double t_start, const std::atomic<bool>& cancel);

  LoadedModel& model_;
  const EngineOptions& opts_;
  double load_ms_;
};

}  // namespace mvl::engine
