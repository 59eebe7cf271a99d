// StepScheduler: the baton (one engine thread at a time, in turn order), the two yield
// points and the batched step. Invariant: every request counted in running_ holds the baton
// or has a turn queued for it, so the baton always reaches whoever parks last, and that
// thread runs the step.
#include "app/engine/core/step_scheduler.h"

#include <algorithm>

#include "kernels/ops/tensor_ops.h"

namespace mvl::engine {

void StepScheduler::queue_for_baton(Ticket& t) {
  t.turn = next_ticket_++;
  waiting_[t.turn] = &t;
}

void StepScheduler::acquire(std::unique_lock<std::mutex>& lock, Ticket& t) {
  t.cv.wait(lock, [&] { return t.ready && !baton_ && serving_ == t.turn; });
  waiting_.erase(t.turn);
  ++serving_;
  baton_ = true;
}

void StepScheduler::release() {
  baton_ = false;
  // Wake only the thread whose turn it is (64 streams must not wake 64 threads per token).
  if (auto it = waiting_.find(serving_); it != waiting_.end()) it->second->cv.notify_one();
}

void StepScheduler::enter() {
  std::unique_lock<std::mutex> lock(mu_);
  ++active_;
  ++running_;
  Ticket t;
  t.ready = true;
  queue_for_baton(t);
  acquire(lock, t);
}

void StepScheduler::leave() {
  std::unique_lock<std::mutex> lock(mu_);
  --active_;
  --running_;
  maybe_step(lock);
  release();
}

void StepScheduler::maybe_step(std::unique_lock<std::mutex>& lock) {
  if (running_ > 0 || (decodes_.empty() && prefills_.empty())) return;
  std::vector<Ticket*> batch;
  batch.swap(decodes_);
  if (!batch.empty()) {
    // A lone request decodes through the plain call (CUDA graphs where on): nobody else can
    // be touching the device. Otherwise one batched step, op by op.
    const bool alone = batch.size() == 1 && active_ == 1;
    std::vector<int32_t> ids;
    std::vector<ModelState*> states;
    for (Ticket* t : batch) states.push_back(t->state);
    lock.unlock();  // the baton keeps every other thread out of the engine meanwhile
    std::vector<Tensor> rows;
    std::exception_ptr error;
    try {
      if (alone && batch[0]->dev_id.defined()) {
        rows.push_back(lm_.decode_device(batch[0]->dev_id, *states[0]));
      } else {
        for (Ticket* t : batch) {
          if (!t->dev_id.defined()) {
            ids.push_back(t->id);
            continue;
          }
          const Tensor h =
              t->dev_id.device().is_cpu() ? t->dev_id : ops::to_device(t->dev_id, Device::cpu());
          ids.push_back(h.data<int32_t>()[0]);
        }
        if (alone)
          rows.push_back(lm_.decode(ids[0], *states[0]));
        else
          rows = lm_.decode_batch(ids, states);
      }
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (error)
        batch[i]->error = error;
      else
        batch[i]->logits = rows[i];
    }
    if (stats_.steps_at_batch.size() <= batch.size()) stats_.steps_at_batch.resize(batch.size() + 1, 0);
    ++stats_.steps_at_batch[batch.size()];
  }
  // The oldest waiting prefill chunks go first (up to the budget; the first always), so a
  // new request's first token comes a step or two after it asked; then the decoders, in
  // batch order.
  for (int64_t used = 0; !prefills_.empty();) {
    Ticket* t = prefills_.front();
    if (used > 0 && used + t->positions > prefill_budget_) break;
    used += t->positions;
    prefills_.pop_front();
    t->ready = true;
    queue_for_baton(*t);
    ++running_;
    ++stats_.prefill_turns;
  }
  for (Ticket* t : batch) {
    t->ready = true;
    queue_for_baton(*t);
    ++running_;
  }
}

void StepScheduler::park(std::unique_lock<std::mutex>& lock, Ticket& t) {
  --running_;
  maybe_step(lock);
  release();
  acquire(lock, t);
}

Tensor StepScheduler::park_decode(std::unique_lock<std::mutex>& lock, Ticket& t) {
  decodes_.push_back(&t);
  park(lock, t);
  if (t.error) std::rethrow_exception(t.error);
  return t.logits;
}

Tensor StepScheduler::decode(int32_t id, ModelState& state) {
  std::unique_lock<std::mutex> lock(mu_);
  Ticket t;
  t.id = id;
  t.state = &state;
  return park_decode(lock, t);
}

Tensor StepScheduler::decode_device(const Tensor& id, ModelState& state) {
  std::unique_lock<std::mutex> lock(mu_);
  Ticket t;
  t.dev_id = id;
  t.state = &state;
  return park_decode(lock, t);
}

void StepScheduler::prefill_turn(int64_t positions) {
  std::unique_lock<std::mutex> lock(mu_);
  Ticket t;
  t.positions = positions;
  prefills_.push_back(&t);
  park(lock, t);
}

int StepScheduler::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_;
}

int64_t SchedulerStats::steps() const {
  int64_t n = 0;
  for (int64_t c : steps_at_batch) n += c;
  return n;
}

int64_t SchedulerStats::decoded() const {
  int64_t n = 0;
  for (size_t b = 0; b < steps_at_batch.size(); ++b) n += static_cast<int64_t>(b) * steps_at_batch[b];
  return n;
}

int64_t SchedulerStats::max_batch() const {
  for (size_t b = steps_at_batch.size(); b > 0; --b)
    if (steps_at_batch[b - 1] > 0) return static_cast<int64_t>(b - 1);
  return 0;
}

SchedulerStats SchedulerStats::since(const SchedulerStats& before) const {
  SchedulerStats d = *this;
  for (size_t b = 0; b < before.steps_at_batch.size() && b < d.steps_at_batch.size(); ++b)
    d.steps_at_batch[b] -= before.steps_at_batch[b];
  d.prefill_turns -= before.prefill_turns;
  return d;
}

SchedulerStats StepScheduler::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace mvl::engine
