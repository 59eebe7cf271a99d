// Request::Kind::raw on the worker thread: token ids (or raw text) with image slots, no chat
// template and no transcript, on a fresh model state. The same pieces as a chat turn (image
// encoding, chunked prefill, the sampler where the logits are), so `generate`, `logits` and
// `bench --path model` run and time the road `ask` takes.
#include <algorithm>

#include "app/engine/core/decode_loop.h"
#include "app/engine/core/request_runner.h"
#include "app/engine/core/sampler.h"
#include "kernels/core/mapped_files.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::engine {
namespace {

// Restores CUDA-graph decode when a raw request that turned it off ends (also on a throw).
struct GraphsGuard {
  LanguageModel& lm;
  bool changed;
  GraphsGuard(LanguageModel& m, bool on) : lm(m), changed(!on) {
    if (changed) lm.set_decode_graphs(false);
  }
  ~GraphsGuard() {
    if (changed) lm.set_decode_graphs(true);
  }
};

}  // namespace

DoneEvent RequestRunner::run_raw(Request& r, const std::atomic<bool>& cancel) {
  const double t_start = now_ms();
  const RawPrompt& raw = r.raw;
  LanguageModel& lm = *model_.lm;
  DoneEvent done;
  done.timings.load_ms = load_ms_;
  auto finish = [&](StopReason reason) {
    done.reason = reason;
    done.timings.total_ms = now_ms() - t_start;
    return done;
  };

  // 1. The ids, checked against the model's vocabulary.
  const std::vector<int32_t> ids = input_step([&] {
    std::vector<int32_t> v = raw.ids;
    if (v.empty()) {
      MVL_CHECK(!raw.text.empty(), invalid_argument, "the prompt is empty");
      MVL_CHECK(model_.codec != nullptr, not_found,
                "the model in '{}' has no tokenizer.json to encode text; pass token ids instead",
                model_.info.dir);
      v = model_.codec->encode_raw(raw.text);
    }
    MVL_CHECK(!v.empty(), invalid_argument, "the prompt encodes to no tokens");
    for (size_t i = 0; i < v.size(); ++i)
      MVL_CHECK(v[i] >= 0 && v[i] < lm.vocab_size(), invalid_argument,
                "token id {} (position {}) is outside the model's vocabulary of {}", v[i], i,
                lm.vocab_size());
    return v;
  });

  // 2. Image slots: one file per slot, all decoded before any ViT work.
  const int64_t image_id = model_.info.image_token_id;
  const size_t slots = image_id < 0 ? 0 : static_cast<size_t>(std::count(ids.begin(), ids.end(), image_id));
  std::vector<std::shared_ptr<const PreparedImage>> prepared;
  input_step([&] {
    MVL_CHECK(slots == raw.images.size(), invalid_argument,
              "the ids hold {} image token(s) (id {}) but {} image file(s) were given; pass one image per "
              "image token, in order",
              slots, image_id, raw.images.size());
    MVL_CHECK(raw.images.empty() || model_.vision != nullptr, unsupported,
              "images were given but the model in '{}' has no vision tower", model_.info.dir);
    for (const auto& path : raw.images) prepared.push_back(model_.vision->prepare(path));
  });
  int64_t positions = static_cast<int64_t>(ids.size() - slots);
  for (const auto& p : prepared) positions += p->image_tokens;
  const int64_t max_ctx = opts_.max_context > 0 ? opts_.max_context : lm.max_context();
  input_step([&] {
    MVL_CHECK(positions < max_ctx, out_of_memory,
              "the prompt needs {} positions but the context holds {}; shorten it, use fewer or smaller "
              "images or raise the context (-c/--ctx-size)",
              positions, max_ctx);
  });

  // 3. Segments: id runs and image rows (on the model's device, at its activation dtype).
  std::vector<Segment> segs;
  size_t k = 0;
  time_stages_ = raw.time_stages;  // this runner serves this one request
  for (int32_t id : ids) {
    if (slots > 0 && id == image_id) {
      Tensor rows = encode_image(raw.images[k], prepared[k], done, cancel);
      if (!rows.defined()) return finish(StopReason::cancelled);
      prepared[k].reset();
      ++k;
      segs.push_back(Segment{{}, std::move(rows)});
      continue;
    }
    if (segs.empty() || segs.back().is_rows()) segs.push_back(Segment{});
    segs.back().ids.push_back(id);
  }

  // 4. Prefill on a fresh state.
  std::unique_ptr<ModelState> state = lm.new_state();
  if (!raw.prefill_only && r.options.max_tokens > 0)
    state->reserve(std::min(max_ctx, positions + r.options.max_tokens + 1));
  const double t_prefill = now_ms();
  std::vector<Tensor> all;
  Tensor logits;
  fed_ = 0;
  chunk_ms_ = raw.time_chunks ? &done.prefill_chunk_ms : nullptr;
  const bool fed = feed(*state, segs, logits, cancel, raw.all_logits ? &all : nullptr);
  chunk_ms_ = nullptr;
  if (!fed) return finish(StopReason::cancelled);
  done.usage.prompt_tokens = positions;
  done.timings.prefill_ms = now_ms() - t_prefill;
  if (done.timings.prefill_ms > 0)
    done.timings.prefill_tokens_per_s = positions * 1000.0 / done.timings.prefill_ms;
  if (raw.all_logits) done.logits = all.size() == 1 ? all[0] : ops::concat_rows(all);
  done.usage.context_tokens = state->length();
  if (raw.prefill_only) return finish(StopReason::max_tokens);

  // 5. Decode: the loop chat turns run (decode_loop.h); only the id comes to the host, and on
  // a GPU the next step is queued before it does. The state is dropped afterwards, so an EOS
  // fed by running ahead costs nothing.
  GraphsGuard graphs(lm, raw.decode_graphs);
  const GenerateOptions& go = r.options;
  Sampler sampler(go.sampling, vocab_limit());
  auto stream = model_.codec && raw.detokenize ? model_.codec->stream() : nullptr;
  std::vector<int32_t> history = ids, content;  // the penalty covers the prompt, as HF's does
  content.reserve(static_cast<size_t>(std::max<int64_t>(go.max_tokens, 0)));
  std::string text;
  auto sink = [&](int32_t id) {
    content.push_back(id);
    std::string piece = stream ? stream->push(id) : std::string();
    text += piece;
    if (r.on_event) r.on_event(TokenEvent{id, std::move(piece)});
    return false;
  };
  DecodeLoopOptions lo;
  lo.max_tokens = go.max_tokens;
  lo.max_context = max_ctx;
  if (!raw.ignore_eos) lo.eos = model_.info.eos_token_id;
  lo.allow_run_ahead = true;
  const DecodeResult d =
      run_decode_loop(lm, *state, std::move(logits), sampler, history, lo, cancel, sink);
  const StopReason reason = d.reason;
  done.step_ms = d.step_ms;
  if (stream) {
    const std::string tail = stream->flush();
    if (!tail.empty() && r.on_event) r.on_event(TokenEvent{-1, tail});
    text += tail;
  }
  const double t_end = now_ms();
  done.text = text;
  done.tokens = content;
  if (reason == StopReason::eos) done.tokens.push_back(*model_.info.eos_token_id);
  done.usage.completion_tokens = d.sampled;
  done.usage.context_tokens = state->length();
  done.decode_report = state->decode_report();
  if (d.sampled > 0) {
    done.timings.ttft_ms = d.t_first_ms - t_start;
    done.timings.decode_ms = t_end - d.t_first_ms;
    if (d.sampled > 1 && done.timings.decode_ms > 0)
      done.timings.decode_tokens_per_s = (d.sampled - 1) * 1000.0 / done.timings.decode_ms;
  }
  return finish(reason);
}

}  // namespace mvl::engine
