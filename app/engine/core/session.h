// Session: one conversation (turns of text and images) bound to one model state. The
// state is fed lazily and incrementally: a new turn only prefills what is not in the state
// yet, so earlier turns are never re-prefilled. A snapshot is kept at every message
// boundary that was reached with nothing pending; rewind restores the nearest one (the
// lightning state cannot be truncated) and what lies between is re-fed on the next turn.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/engine/core/chat_types.h"
#include "app/engine/core/model_api.h"

namespace mvl::engine {

// The system prompt of the official MiniMax-VL-01 examples (spec §7.3).
inline constexpr const char* kDefaultSystemPrompt =
    "You are a helpful assistant created by MiniMax based on MiniMax-VL-01 model.";

class Session {
 public:
  // An empty system prompt means no system message.
  explicit Session(std::string system_prompt = kDefaultSystemPrompt);

  // ---- front-end side: allowed only while !busy() (they throw otherwise) ----
  const std::vector<Message>& messages() const { return messages_; }
  bool busy() const { return in_flight_.load() > 0; }
  int64_t context_length() const;          // positions in the model state
  int64_t prefilled_tokens() const { return prefilled_tokens_; }  // over the session's life
  // Keeps messages [0, n); the state goes back to the nearest snapshot at or before n.
  void rewind(size_t n);
  // Drops every turn, keeps the system message.
  void clear();
  // Replaces the transcript (e.g. /load); nothing is prefilled until the next request,
  // which then feeds the whole transcript in one prefill.
  void load(std::vector<Message> messages);
  size_t num_snapshots() const { return snapshots_.size(); }

 private:
  friend class RequestRunner;
  friend class Engine;

  // Worker side (RequestRunner): see session.cpp for the invariants.
  void ensure_state(LanguageModel& lm);
  // At boundary fed_messages_ (pending_ empty); keeps boundary 0 and the newest `keep`.
  void take_snapshot(int64_t keep);
  void restore_to(size_t n);                   // nearest snapshot <= n; fed_messages_ = it

  std::vector<Message> messages_;
  // Invariant: the state holds messages [0, fed_messages_) completely, except the ids in
  // pending_, which are owed to the end of message fed_messages_-1 (an answer's last
  // sampled token and its closing marker). Messages >= fed_messages_ are not in the state.
  size_t fed_messages_ = 0;
  std::vector<int32_t> pending_;
  std::map<size_t, std::unique_ptr<StateSnapshot>> snapshots_;  // boundary -> state
  std::unique_ptr<ModelState> state_;
  int64_t prefilled_tokens_ = 0;
  std::atomic<int> in_flight_{0};  // submitted, not finished requests on this session
};

}  // namespace mvl::engine
