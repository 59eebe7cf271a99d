// Stop-reason names and the locked EventQueue.
#include "app/engine/core/events.h"

#include <chrono>

namespace mvl::engine {

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::eos: return "eos";
    case StopReason::max_tokens: return "max_tokens";
    case StopReason::stop_string: return "stop_string";
    case StopReason::cancelled: return "cancelled";
    case StopReason::context_full: return "context_full";
  }
  return "?";
}

EventCallback EventQueue::sink() {
  return [this](const Event& e) { push(e); };
}

void EventQueue::push(Event e) {
  std::function<void()> notify;
  {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(e));
    notify = notify_;
  }
  cv_.notify_all();
  if (notify) notify();
}

std::vector<Event> EventQueue::drain() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Event> out(std::make_move_iterator(events_.begin()),
                         std::make_move_iterator(events_.end()));
  events_.clear();
  return out;
}

bool EventQueue::wait_for(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !events_.empty(); });
}

void EventQueue::set_notify(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  notify_ = std::move(fn);
}

}  // namespace mvl::engine
