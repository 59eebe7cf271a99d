// One request, start to finish, on the worker thread. The order of work per request:
//   1. prepare the new user message's images (decode + preprocess; bad files -> InputError)
//   2. build segments for everything the state lacks: ids still owed to the previous
//      answer (its last token + closing marker), then every message not yet fed
//   3. prefill them in chunks, snapshot at the new boundary, prefill the generation prompt
//   4. sample/decode until EOS, max tokens, a stop string, cancel or a full context
// On an error or a cancel before the first token, the transcript is rolled back.
#include "app/engine/core/request_runner.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "app/engine/core/decode_loop.h"
#include "app/engine/core/sampler.h"
#include "kernels/core/mapped_files.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::engine {
namespace {

int64_t total_size(const std::vector<Segment>& segs) {
  int64_t n = 0;
  for (const auto& s : segs) n += s.size();
  return n;
}

// `needed` new positions on top of `used` must stay below the context `budget`.
void throw_if_over_budget(int64_t needed, int64_t budget, int64_t used, bool at_least = false) {
  MVL_CHECK(used + needed < budget, out_of_memory,
            "the prompt needs {}{} positions ({} already in the conversation) but the context "
            "holds {}; shorten the prompt, use fewer or smaller images, raise the context "
            "(-c/--ctx-size) or start a new conversation",
            at_least ? "at least " : "", needed, used, budget);
}

void append_ids(std::vector<Segment>& segs, const std::vector<int32_t>& ids) {
  if (ids.empty()) return;
  if (segs.empty() || segs.back().is_rows()) segs.push_back(Segment{});
  auto& dst = segs.back().ids;
  dst.insert(dst.end(), ids.begin(), ids.end());
}

}  // namespace

int64_t RequestRunner::vocab_limit() const {
  const int64_t v = model_.lm->vocab_size();
  return model_.codec ? std::min(v, model_.codec->vocab_size()) : v;
}

int64_t RequestRunner::count_positions(Session& s, size_t from, size_t to, int64_t budget) {
  const PromptCodec& codec = *model_.codec;
  int64_t n = static_cast<int64_t>(s.pending_.size());
  auto check = [&](int64_t at_least) {
    input_step([&] { throw_if_over_budget(at_least, budget, s.state_->length(), true); });
  };
  for (size_t i = from; i < to; ++i) {
    Message& m = s.messages_[i];
    if (m.role == Role::assistant && !m.tokens.empty()) {
      n += static_cast<int64_t>(codec.generation_prompt().size() + m.tokens.size() + codec.assistant_close().size());
      check(n);
      continue;
    }
    // Cheap bound first: the text needs at least bytes / (bytes per token) positions (with a
    // 4x margin for normalizers that shrink text), so a 50 MB line is refused untokenized.
    if (const size_t per = codec.max_bytes_per_token(); per > 0) {
      size_t bytes = 0;
      for (const auto& p : m.parts)
        if (p.kind == ContentPart::Kind::text) bytes += p.text.size();
      check(n + static_cast<int64_t>(bytes / (4 * per)));
    }
    for (const auto& piece : input_step([&] { return codec.encode_message(m); }))
      n += static_cast<int64_t>(piece.ids.size());
    check(n);
    for (auto& p : m.parts) {
      if (p.kind != ContentPart::Kind::image) continue;
      MVL_CHECK(model_.vision != nullptr, unsupported,
                "the model in '{}' has no vision tower, so it cannot take images", model_.info.dir);
      if (!p.prepared) p.prepared = input_step([&] { return model_.vision->prepare(p.image_path); });
      n += p.prepared->image_tokens;
      check(n);  // before the next image is decoded
    }
  }
  return n;
}

Tensor RequestRunner::encode_image(const std::string& path, std::shared_ptr<const PreparedImage> prep,
                                   DoneEvent& done, const std::atomic<bool>& cancel) {
  if (!prep) prep = input_step([&] { return model_.vision->prepare(path); });
  if (cancel.load()) return {};
  const double t0 = now_ms();
  EncodeStages stages;
  Tensor rows = in_context("encoding image '" + path + "'", [&] {
    const CancelCheck cancelled = [&] { return cancel.load(); };
    return time_stages_ ? model_.vision->encode_staged(*prep, cancelled, stages)
                        : model_.vision->encode(*prep, cancelled);
  });
  if (!rows.defined()) return {};
  check_shape(rows, {prep->image_tokens, model_.lm->hidden_size()}, "image features of '" + path + "'");
  ImageReport rep;
  rep.path = path;
  rep.width = prep->width;
  rep.height = prep->height;
  rep.grid_rows = prep->grid_rows;
  rep.grid_cols = prep->grid_cols;
  rep.image_tokens = prep->image_tokens;
  rep.preprocess_ms = prep->preprocess_ms;
  rep.decode_ms = prep->decode_ms;
  rep.encode_ms = now_ms() - t0;
  rep.vit_ms = stages.vit_ms;
  rep.project_ms = stages.project_ms;
  done.timings.image_encode_ms += rep.encode_ms;
  done.usage.image_tokens += prep->image_tokens;
  done.images.push_back(rep);
  return rows;
}

std::vector<Segment> RequestRunner::build_segments(Session& s, size_t from, size_t to,
                                                   DoneEvent& done,
                                                   const std::atomic<bool>& cancel) {
  std::vector<Segment> segs;
  append_ids(segs, s.pending_);
  const PromptCodec& codec = *model_.codec;
  for (size_t i = from; i < to; ++i) {
    const Message& m = s.messages_[i];
    if (m.role == Role::assistant && !m.tokens.empty()) {
      // Replay the exact generated ids: an answer is gen prompt + content + close.
      append_ids(segs, codec.generation_prompt());
      append_ids(segs, m.tokens);
      append_ids(segs, codec.assistant_close());
      continue;
    }
    std::vector<const ContentPart*> images;
    for (const auto& p : m.parts)
      if (p.kind == ContentPart::Kind::image) images.push_back(&p);
    if (!images.empty()) {
      MVL_CHECK(model_.vision != nullptr, unsupported,
                "the model in '{}' has no vision tower, so it cannot take images",
                model_.info.dir);
    }
    const auto pieces = input_step([&] { return codec.encode_message(m); });
    for (const auto& piece : pieces) {
      if (piece.image_index < 0) {
        append_ids(segs, piece.ids);
        continue;
      }
      MVL_ASSERT(piece.image_index < static_cast<int>(images.size()));
      const ContentPart& part = *images[piece.image_index];
      Tensor rows = encode_image(part.image_path, part.prepared, done, cancel);
      if (!rows.defined()) return {};
      segs.push_back(Segment{{}, std::move(rows)});
    }
  }
  return segs;
}

bool RequestRunner::feed(ModelState& state, const std::vector<Segment>& segs, Tensor& logits,
                         const std::atomic<bool>& cancel, std::vector<Tensor>* all_logits) {
  // prefill_chunk <= 0: the whole input in one call. Otherwise calls of prefill_chunk
  // positions while another request is in the engine (its steps interleave between them), and
  // of prefill_ubatch positions (<= 0: the rest) while this one is alone: a lone image
  // question's 9,920 positions took 96 ms in 512-position calls and 39 ms in one on an H100
  // (session 9). Decided at each call, so a request that arrives meanwhile waits one call.
  const int64_t whole = std::max<int64_t>(1, total_size(segs));
  auto chunk_now = [&]() -> int64_t {
    if (opts_.prefill_chunk <= 0) return whole;
    if (model_.lm->shared()) return opts_.prefill_chunk;
    return opts_.prefill_ubatch > 0 ? std::max(opts_.prefill_chunk, opts_.prefill_ubatch) : whole;
  };
  int64_t chunk = chunk_now();
  std::vector<Segment> batch;
  int64_t in_batch = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    const double t0 = now_ms();
    if (all_logits) {
      // Every position's rows, gathered on the host chunk by chunk (parity dumps).
      const Tensor rows = model_.lm->prefill(batch, state, true);
      all_logits->push_back(ops::to_device(rows.dtype() == DType::f32 ? rows : ops::cast(rows, DType::f32),
                                           Device::cpu()));
      logits = rows.select(0, rows.dim(0) - 1);
    } else {
      logits = model_.lm->prefill(batch, state);
    }
    if (chunk_ms_) {
      (void)ops::to_device(logits.slice(0, 0, 1), Device::cpu());  // [vocab]: waits for the device
      chunk_ms_->push_back(now_ms() - t0);
    }
    fed_ += in_batch;
    batch.clear();
    in_batch = 0;
    chunk = chunk_now();
  };
  for (const auto& seg : segs) {
    for (int64_t off = 0; off < seg.size();) {
      if (cancel.load()) return false;
      const int64_t take = std::min(chunk - in_batch, seg.size() - off);
      Segment part;
      if (seg.is_rows()) {
        part.rows = seg.rows.slice(0, off, off + take);
      } else {
        part.ids.assign(seg.ids.begin() + off, seg.ids.begin() + off + take);
      }
      batch.push_back(std::move(part));
      in_batch += take;
      off += take;
      if (in_batch == chunk) flush();
    }
  }
  if (cancel.load()) return false;
  flush();
  return true;
}

DoneEvent RequestRunner::run(Request& r, const std::atomic<bool>& cancel) {
  const double t_start = now_ms();
  MVL_CHECK(model_.codec != nullptr, not_found,
            "the model in '{}' has no tokenizer.json, so it takes raw token ids only", model_.info.dir);
  Session& s = *r.session;
  LanguageModel& lm = *model_.lm;
  s.ensure_state(lm);
  const std::vector<Message> before = s.messages_;
  bool touched = false;  // the state was modified by this request
  auto rollback = [&] {
    s.messages_ = before;
    if (touched) s.restore_to(before.size());
  };

  DoneEvent done;
  done.timings.load_ms = load_ms_;
  // A shard truncated or rewritten since the load (mapped_files.h) fails the request cleanly.
  check_mapped_files(true);
  try {
    if (r.kind == Request::Kind::turn) {
      input_step([&] {
        MVL_CHECK(!r.content.empty(), invalid_argument, "the message is empty");
      });
      Message m;
      m.role = Role::user;
      m.parts = r.content;
      for (auto& p : m.parts) {
        if (p.kind != ContentPart::Kind::image || p.prepared) continue;
        MVL_CHECK(model_.vision != nullptr, unsupported,
                  "the model in '{}' has no vision tower, so it cannot take images",
                  model_.info.dir);
        p.prepared = input_step([&] { return model_.vision->prepare(p.image_path); });
      }
      s.messages_.push_back(std::move(m));
    } else {
      input_step([&] {
        MVL_CHECK(!s.messages_.empty() && s.messages_.back().role == Role::assistant,
                  invalid_argument, "there is no answer to regenerate");
      });
      s.messages_.pop_back();
      if (s.fed_messages_ > s.messages_.size()) {
        s.restore_to(s.messages_.size());
        touched = true;
      }
    }

    const size_t n = s.messages_.size();
    const std::vector<int32_t> gen = model_.codec->generation_prompt();
    // The context check comes before any image is encoded (that can take long), and
    // count_positions stops early once the prompt cannot fit.
    const int64_t max_ctx = opts_.max_context > 0 ? opts_.max_context : lm.max_context();
    const int64_t new_positions =
        count_positions(s, s.fed_messages_, n, max_ctx - static_cast<int64_t>(gen.size())) +
        static_cast<int64_t>(gen.size());
    input_step([&] {
      throw_if_over_budget(new_positions, max_ctx, s.state_->length());
      const int64_t cap = r.options.max_prompt_tokens;
      MVL_CHECK(cap <= 0 || s.state_->length() + new_positions <= cap, invalid_argument,
                "the prompt needs {} positions ({} already in the conversation) but the limit "
                "is {} (max_prompt_tokens); shorten the prompt or use fewer or smaller images",
                new_positions, s.state_->length(), cap);
    });
    std::vector<Segment> segs = build_segments(s, s.fed_messages_, n, done, cancel);
    if (cancel.load()) {
      rollback();
      done.reason = StopReason::cancelled;
      done.timings.total_ms = now_ms() - t_start;
      return done;
    }
    MVL_ASSERT(total_size(segs) + static_cast<int64_t>(gen.size()) == new_positions);

    // The KV caches sized once for this turn: the prompt plus the answer's budget (an answer
    // without a budget gets kOpenAnswerReserve; past it the caches double, copying).
    constexpr int64_t kOpenAnswerReserve = 4096;
    const int64_t answer = r.options.max_tokens > 0 ? r.options.max_tokens : kOpenAnswerReserve;
    s.state_->reserve(std::min(max_ctx, s.state_->length() + new_positions + answer + 1));
    const double t_prefill = now_ms();
    Tensor logits;
    touched = true;
    fed_ = 0;
    const bool fed_all = feed(*s.state_, segs, logits, cancel);
    s.prefilled_tokens_ += fed_;
    if (!fed_all) {
      rollback();
      done.reason = StopReason::cancelled;
      done.timings.total_ms = now_ms() - t_start;
      return done;
    }
    s.pending_.clear();
    // Pixels are not needed once the features are in the state (a replay re-reads the file).
    for (size_t i = s.fed_messages_; i < n; ++i)
      for (auto& p : s.messages_[i].parts) p.prepared.reset();
    s.fed_messages_ = n;
    s.take_snapshot(opts_.max_snapshots);
    fed_ = 0;
    const bool fed_gen = feed(*s.state_, {Segment{gen, {}}}, logits, cancel);
    s.prefilled_tokens_ += fed_;
    if (!fed_gen) {
      rollback();
      done.reason = StopReason::cancelled;
      done.timings.total_ms = now_ms() - t_start;
      return done;
    }
    done.usage.prompt_tokens = new_positions;
    done.timings.prefill_ms = now_ms() - t_prefill;
    if (done.timings.prefill_ms > 0)
      done.timings.prefill_tokens_per_s = new_positions * 1000.0 / done.timings.prefill_ms;
    return generate(r, s, std::move(logits), std::move(done), t_start, cancel);
  } catch (...) {
    rollback();
    throw;
  }
}

DoneEvent RequestRunner::generate(Request& r, Session& s, Tensor logits,
                                  DoneEvent done, double t_start,
                                  const std::atomic<bool>& cancel) {
  LanguageModel& lm = *model_.lm;
  const PromptCodec& codec = *model_.codec;
  const GenerateOptions& go = r.options;
  const int64_t max_ctx = opts_.max_context > 0 ? opts_.max_context : lm.max_context();
  Sampler sampler(go.sampling, vocab_limit());
  auto stream = codec.stream();
  std::vector<int32_t> content;  // generated ids without the EOS (also the penalty's history)
  std::string text;
  size_t emitted = 0;  // bytes of `text` already streamed
  auto emit = [&](const Event& e) {
    if (r.on_event) r.on_event(e);
  };
  // Stop strings: stop at a full match; hold back a tail that could still become one, so the
  // streamed text never shows (part of) a stop string.
  auto sink = [&](int32_t id) {
    text += stream->push(id);
    size_t visible = text.size();
    bool stop_hit = false;
    for (const auto& stop : go.stop_strings) {
      if (stop.empty()) continue;
      const size_t from = emitted > stop.size() ? emitted - stop.size() : 0;
      const size_t at = text.find(stop, from);
      if (at != std::string::npos) {
        visible = std::min(visible, at);
        stop_hit = true;
        continue;
      }
      for (size_t k = std::min(stop.size() - 1, text.size()); k > 0; --k) {
        if (text.compare(text.size() - k, k, stop, 0, k) == 0) {
          visible = std::min(visible, text.size() - k);
          break;
        }
      }
    }
    if (stop_hit) text.resize(visible);
    emit(TokenEvent{id, visible > emitted ? text.substr(emitted, visible - emitted) : std::string()});
    emitted = std::max(emitted, visible);
    return stop_hit;
  };
  DecodeLoopOptions lo;
  lo.max_tokens = go.max_tokens;
  lo.max_context = max_ctx;
  lo.eos = codec.eos_id();
  // Running ahead may feed the EOS (or a stop string's last id) before the host sees it: fine
  // when the answer's closing marker starts with EOS (it is owed next anyway) -- the released
  // chat template's -- and only the pending ids below change.
  const std::vector<int32_t> close = codec.assistant_close();
  lo.allow_run_ahead = !close.empty() && close.front() == codec.eos_id();
  const DecodeResult d =
      run_decode_loop(lm, *s.state_, std::move(logits), sampler, content, lo, cancel, sink);
  const StopReason reason = d.reason;
  if (reason != StopReason::stop_string) {
    text += stream->flush();
    if (text.size() > emitted) emit(TokenEvent{-1, text.substr(emitted)});  // held-back tail
  }

  // The answer joins the transcript; what the state still lacks is owed via pending_.
  Message a;
  a.role = Role::assistant;
  a.parts.push_back(ContentPart::make_text(text));
  a.tokens = content;
  s.messages_.push_back(std::move(a));
  s.fed_messages_ = s.messages_.size();
  // What the state still owes: the last content id when the loop stopped before feeding it,
  // then the closing marker (less its EOS when running ahead fed that already).
  s.pending_.clear();
  const bool last_unfed = reason == StopReason::max_tokens || reason == StopReason::context_full ||
                          (reason == StopReason::stop_string && !d.stop_id_fed);
  if (last_unfed && !content.empty()) s.pending_.push_back(content.back());
  const bool eos_fed = reason == StopReason::eos && d.stop_id_fed;
  s.pending_.insert(s.pending_.end(), close.begin() + (eos_fed ? 1 : 0), close.end());

  const double t_end = now_ms();
  done.reason = reason;
  done.text = text;
  done.tokens = content;
  if (reason == StopReason::eos) done.tokens.push_back(codec.eos_id());
  done.usage.completion_tokens = d.sampled;
  done.usage.context_tokens = s.state_->length();
  if (d.sampled > 0) {
    done.timings.ttft_ms = d.t_first_ms - t_start;
    done.timings.decode_ms = t_end - d.t_first_ms;
    if (d.sampled > 1 && done.timings.decode_ms > 0)
      done.timings.decode_tokens_per_s = (d.sampled - 1) * 1000.0 / done.timings.decode_ms;
  }
  done.timings.total_ms = t_end - t_start;
  return done;
}

}  // namespace mvl::engine
