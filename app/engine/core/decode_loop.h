// The one token loop every request runs after its prefill (chat turns in request_runner.cpp,
// raw requests in raw_request.cpp, so `bench --path model` times what ask/chat run): sample
// where the logits are (ops::sample_checked: the id and a NaN/+Inf flag from one pass), read
// back those 8 bytes, stop on EOS / the caller's stop rule / max tokens / a full context /
// cancel, else feed the id. On a GPU (LanguageModel::asynchronous) the next step is queued
// from the device-side id BEFORE the host reads it (run-ahead), so the host's work per token (the
// read, stop checks, detokenizing, events) overlaps the device's step instead of adding to it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "app/engine/core/events.h"
#include "app/engine/core/model_api.h"
#include "app/engine/core/sampler.h"

namespace mvl::engine {

struct DecodeLoopOptions {
  int64_t max_tokens = 0;      // > 0: stop after this many sampled ids (EOS included)
  int64_t max_context = 0;     // stop before the state reaches this many positions
  std::optional<int32_t> eos;  // stop on this id (not emitted); none: never
  // The caller accepts that the id the loop stopped at (EOS or a stop-string token) was fed
  // already (DecodeResult::stop_id_fed); only then does an asynchronous model run ahead.
  bool allow_run_ahead = false;
};

struct DecodeResult {
  StopReason reason = StopReason::max_tokens;
  int64_t sampled = 0;          // ids sampled, EOS included
  double t_first_ms = 0;        // now_ms() when the first id reached the host
  std::vector<double> step_ms;  // host time between consecutive ids (sampled - 1 values)
  bool stop_id_fed = false;     // the EOS / stop-string id is in the state (run-ahead)
};

// Called with every sampled id except EOS, after it joined `history`; returns true to stop
// (a stop string matched: DecodeResult::reason = stop_string).
using TokenSink = std::function<bool(int32_t id)>;

// Decodes from the prefill's `logits` until a stop. `history`: the ids the repetition penalty
// covers; each non-EOS id is appended. Throws Error{internal} naming the position when the
// logits hold NaN/+Inf (broken weights).
DecodeResult run_decode_loop(LanguageModel& lm, ModelState& state, Tensor logits, Sampler& sampler,
                             std::vector<int32_t>& history, const DecodeLoopOptions& o,
                             const std::atomic<bool>& cancel, const TokenSink& sink);

}  // namespace mvl::engine
