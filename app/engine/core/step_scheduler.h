// StepScheduler: continuous batching for the engine. Every running request has its own
// thread (Engine's runner pool), but only one thread at a time runs engine code: it holds the
// baton, taken in arrival order. A request gives the baton up at two yield points, reached
// through the ScheduledLm wrapper: decode() (waits for the next batched step) and prefill()
// (waits for its turn: one prefill chunk per step). When every request has reached a yield
// point, the thread that got there last runs the step: one LanguageModel::decode_batch for
// all waiting decodes, then hands the baton to the oldest waiting prefill chunks (up to a
// budget of positions per step). So all decoding sequences advance together, a new prompt
// joins between steps a bounded chunk at a time,
// and a lone request runs on its own thread with no hand-off at all (decode() there is the
// plain single-sequence call, CUDA graphs included). Sampling, detokenizing and events stay
// in each request's thread, per request, under the baton: no two threads touch the model or
// the device at once.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "app/engine/core/model_api.h"

namespace mvl::engine {

struct SchedulerStats {
  std::vector<int64_t> steps_at_batch;  // [b] = decode steps that advanced b sequences
  int64_t prefill_turns = 0;            // prefill chunks granted

  int64_t steps() const;      // decode steps run
  int64_t decoded() const;    // sequences advanced by them (sum of batch sizes)
  int64_t max_batch() const;  // the largest batch (0 before the first step)
  // What happened after `before` (an earlier snapshot of the same scheduler).
  SchedulerStats since(const SchedulerStats& before) const;
};

class StepScheduler {
 public:
  // prefill_budget: prompt positions granted per step (at least one chunk always goes).
  explicit StepScheduler(LanguageModel& lm, int64_t prefill_budget = 512)
      : lm_(lm), prefill_budget_(prefill_budget) {}

  // A request's thread: enter() before touching the engine (waits for the baton), leave()
  // when done (also on a throw). Between them the thread holds the baton except inside
  // decode() / prefill_turn().
  void enter();
  void leave();
  // One token for `state`, run in the next batched step with every other waiting decode.
  Tensor decode(int32_t id, ModelState& state);
  // The same with the id as i32 [1] where the model runs (LanguageModel::decode_device): a lone
  // request's step is queued from it without a host read; a batch reads the ids back once.
  Tensor decode_device(const Tensor& id, ModelState& state);
  // Waits until this request may run one prefill chunk of `positions` (returns holding the
  // baton). Each step grants the oldest waiting chunks up to prefill_budget positions.
  void prefill_turn(int64_t positions);
  SchedulerStats stats() const;
  // Requests between enter() and leave().
  int active() const;

 private:
  struct Ticket {
    int32_t id = 0;
    ModelState* state = nullptr;
    Tensor dev_id;               // decode_device(): the id on the model's device (id unused)
    int64_t positions = 0;       // a prefill chunk's size
    bool ready = false;          // the step ran (or the prefill turn was granted)
    uint64_t turn = 0;           // its place in the baton order, once ready
    std::condition_variable cv;  // woken when the baton comes to `turn`
    Tensor logits;
    std::exception_ptr error;
  };
  // With mu_ held by the baton holder: parks the caller on `t` (it no longer counts as
  // running), runs a step when nobody is running any more, then waits for t.ready and the
  // baton again.
  void park(std::unique_lock<std::mutex>& lock, Ticket& t);
  Tensor park_decode(std::unique_lock<std::mutex>& lock, Ticket& t);
  // Runs one step if every active request is parked; returns with the baton still held.
  void maybe_step(std::unique_lock<std::mutex>& lock);
  // Gives t the next place in the baton order (t.ready must be set).
  void queue_for_baton(Ticket& t);
  // Waits until t is ready and the baton comes to its turn, then takes it.
  void acquire(std::unique_lock<std::mutex>& lock, Ticket& t);
  void release();

  LanguageModel& lm_;
  int64_t prefill_budget_;
  mutable std::mutex mu_;
  bool baton_ = false;        // a thread is running engine code
  uint64_t next_ticket_ = 0;  // arrival order for the baton
  uint64_t serving_ = 0;      // the next arrival allowed to take it
  int active_ = 0;            // requests between enter() and leave()
  int running_ = 0;           // of those, not parked at a yield point
  std::vector<Ticket*> decodes_;
  std::deque<Ticket*> prefills_;
  std::map<uint64_t, Ticket*> waiting_;  // turn -> the ticket that will take the baton then
  SchedulerStats stats_;
};

// A LanguageModel that sends decode() and prefill() through a StepScheduler; everything else
// goes straight to the wrapped model. The Engine gives it to its request runners.
class ScheduledLm : public LanguageModel {
 public:
  ScheduledLm(std::unique_ptr<LanguageModel> inner, StepScheduler& s)
      : inner_(std::move(inner)), s_(s) {}
  std::unique_ptr<ModelState> new_state() override { return inner_->new_state(); }
  Tensor prefill(const std::vector<Segment>& segments, ModelState& state,
                 bool all_positions) override {
    int64_t n = 0;
    for (const Segment& seg : segments) n += seg.size();
    s_.prefill_turn(n);
    return inner_->prefill(segments, state, all_positions);
  }
  Tensor decode(int32_t id, ModelState& state) override { return s_.decode(id, state); }
  Tensor decode_device(const Tensor& id, ModelState& state) override {
    return s_.decode_device(id, state);
  }
  bool asynchronous() const override { return inner_->asynchronous(); }
  std::vector<Tensor> decode_batch(const std::vector<int32_t>& ids,
                                   const std::vector<ModelState*>& states) override {
    return inner_->decode_batch(ids, states);
  }
  void set_decode_graphs(bool on) override { inner_->set_decode_graphs(on); }
  void set_batch_decode_mode(BatchDecodeMode mode) override { inner_->set_batch_decode_mode(mode); }
  void set_prefill_ubatch(int64_t positions) override { inner_->set_prefill_ubatch(positions); }
  bool shared() const override { return s_.active() > 1; }
  int64_t vocab_size() const override { return inner_->vocab_size(); }
  int64_t hidden_size() const override { return inner_->hidden_size(); }
  int64_t max_context() const override { return inner_->max_context(); }
  LanguageModel& inner() { return *inner_; }

 private:
  std::unique_ptr<LanguageModel> inner_;
  StepScheduler& s_;
};

}  // namespace mvl::engine
