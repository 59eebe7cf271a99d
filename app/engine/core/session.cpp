// Session bookkeeping: the transcript, the fed/pending invariant and the snapshots.
#include "app/engine/core/session.h"

#include <algorithm>
#include <iterator>

#include "kernels/core/error.h"

namespace mvl::engine {

Session::Session(std::string system_prompt) {
  if (!system_prompt.empty()) {
    Message m;
    m.role = Role::system;
    m.parts.push_back(ContentPart::make_text(std::move(system_prompt)));
    messages_.push_back(std::move(m));
  }
}

int64_t Session::context_length() const { return state_ ? state_->length() : 0; }

void Session::rewind(size_t n) {
  MVL_CHECK(!busy(), invalid_argument,
            "the session has a request in flight; wait for it or cancel it before rewinding");
  MVL_CHECK(n <= messages_.size(), invalid_argument,
            "cannot rewind to message {}: the session has only {}", n, messages_.size());
  messages_.resize(n);
  // The state covers more than the kept messages: go back to a snapshot.
  if (fed_messages_ > n) restore_to(n);
}

void Session::clear() {
  const bool has_system = !messages_.empty() && messages_[0].role == Role::system;
  rewind(has_system ? 1 : 0);
}

void Session::load(std::vector<Message> messages) {
  MVL_CHECK(!busy(), invalid_argument,
            "the session has a request in flight; wait for it or cancel it before loading");
  for (size_t i = 0; i < messages.size(); ++i) {
    MVL_CHECK(messages[i].role != Role::system || i == 0, bad_format,
              "message {} is a system message; only the first message may be one", i);
  }
  messages_ = std::move(messages);
  restore_to(0);
}

void Session::ensure_state(LanguageModel& lm) {
  if (state_) return;
  state_ = lm.new_state();
  fed_messages_ = 0;
  pending_.clear();
  snapshots_.clear();
  snapshots_[0] = state_->snapshot();
}

void Session::take_snapshot(int64_t keep) {
  MVL_ASSERT(state_ && pending_.empty());
  snapshots_[fed_messages_] = state_->snapshot();
  // Drop the oldest boundaries (never boundary 0, the empty state).
  while (static_cast<int64_t>(snapshots_.size()) > std::max<int64_t>(keep, 1) + 1)
    snapshots_.erase(std::next(snapshots_.begin()));
}

void Session::restore_to(size_t n) {
  pending_.clear();
  if (!state_) {
    fed_messages_ = 0;
    return;
  }
  auto it = snapshots_.upper_bound(n);
  MVL_ASSERT(it != snapshots_.begin());  // boundary 0 is always kept
  --it;
  state_->restore(*it->second);
  fed_messages_ = it->first;
  // Snapshots past the restored point describe a history that is being rewritten.
  for (auto later = snapshots_.upper_bound(fed_messages_); later != snapshots_.end();)
    later = snapshots_.erase(later);
}

}  // namespace mvl::engine
