// run_decode_loop (decode_loop.h). Per token: sample where the logits are -> start the 8-byte
// read of (id, flag) -> on an asynchronous model (a GPU), queue the next decode from the
// device-side id unless this id must be the last (max tokens, full context) -> wait for the bytes
// -> stop checks and the caller's sink. A stop the host learns late (EOS, a stop string) leaves the
// queued step's id in the state, which the caller accepted through allow_run_ahead.
#include "app/engine/core/decode_loop.h"

#include <cmath>
#include <limits>

#include "app/engine/core/engine.h"
#include "kernels/core/mapped_files.h"
#include "kernels/ops/readback.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::engine {

Tensor LanguageModel::decode_device(const Tensor& id, ModelState& state) {
  const Tensor h = id.device().is_cpu() ? id : ops::to_device(id, Device::cpu());
  return decode(h.data<int32_t>()[0], state);
}

namespace {

// The sampler flagged NaN/+Inf logits: broken weights or a numerical failure. Sampling from
// them would print garbage ("!!!!") with exit 0, so this is an error naming the position and
// (read back now, off the hot path) the first bad logit. -Inf is left alone: it is how a logit
// is masked out.
[[noreturn]] void throw_nonfinite(const Tensor& logits, int64_t position) {
  const Tensor f = logits.dtype() == DType::f32 ? logits : ops::cast(logits, DType::f32);
  const Tensor c = contiguous(f.device().is_cpu() ? f : ops::to_device(f, Device::cpu()));
  const float* x = c.data<float>();
  const int64_t n = c.numel();
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isnan(x[i]) && x[i] != std::numeric_limits<float>::infinity()) continue;
    throw_error(ErrorCategory::internal,
                fmt::format("the model produced a non-finite logit ({} for token {}) at position "
                            "{}; the checkpoint's weights are likely corrupt (NaN/Inf)",
                            x[i], i, position));
  }
  throw_error(ErrorCategory::internal,
              fmt::format("the model produced a non-finite logit at position {}; the "
                          "checkpoint's weights are likely corrupt (NaN/Inf)",
                          position));
}

}  // namespace

DecodeResult run_decode_loop(LanguageModel& lm, ModelState& state, Tensor logits, Sampler& sampler,
                             std::vector<int32_t>& history, const DecodeLoopOptions& o,
                             const std::atomic<bool>& cancel, const TokenSink& sink) {
  DecodeResult r;
  ops::Readback readback;
  double t_prev = 0;
  while (true) {
    if (cancel.load()) {
      r.reason = StopReason::cancelled;
      break;
    }
    check_mapped_files();  // a shard truncated mid-request read as zeros: say so, once
    const int64_t position = state.length();
    const Tensor picked = sampler.sample_checked(logits, history);  // i32 [2] {id, non-finite}
    ++r.sampled;
    const bool at_max = o.max_tokens > 0 && r.sampled >= o.max_tokens;
    const bool ctx_full = position + 1 >= o.max_context;
    const bool on_device = !picked.device().is_cpu();
    readback.start(picked);
    Tensor next;
    const bool ahead = lm.asynchronous() && o.allow_run_ahead && !at_max && !ctx_full;
    if (ahead) next = lm.decode_device(picked.slice(0, 0, 1), state);
    const int32_t* got = readback.wait();
    const int32_t id = got[0];
    if (got[1] != 0) throw_nonfinite(logits, position);
    const double t = now_ms();
    if (r.sampled == 1)
      r.t_first_ms = t;
    else
      r.step_ms.push_back(t - t_prev);
    t_prev = t;
    if (o.eos && id == *o.eos) {
      r.reason = StopReason::eos;
      r.stop_id_fed = ahead;
      break;
    }
    history.push_back(id);
    if (sink && sink(id)) {
      r.reason = StopReason::stop_string;
      r.stop_id_fed = ahead;
      break;
    }
    if (at_max || ctx_full) {
      r.reason = at_max ? StopReason::max_tokens : StopReason::context_full;
      break;
    }
    if (ahead)
      logits = std::move(next);
    else if (on_device)
      logits = lm.decode_device(picked.slice(0, 0, 1), state);
    else
      logits = lm.decode(id, state);
  }
  return r;
}

}  // namespace mvl::engine
