// Prefix reuse across HTTP requests. OpenAI clients resend the whole conversation every
// turn; a finished request's Session (its state holds the conversation so far) is kept
// here, and a request whose history equals a kept transcript exactly continues that
// Session, so only the new user message is prefilled. Bounded by a session count (LRU);
// each kept session costs one model state (KV caches + lightning states) plus its snapshots.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <vector>

#include "app/engine/core/session.h"

namespace mvl::server {

// Same roles, same parts in order (text equal, images by identity).
bool same_transcript(const std::vector<engine::Message>& a, const std::vector<engine::Message>& b);

class SessionCache {
 public:
  explicit SessionCache(size_t capacity) : capacity_(capacity) {}
  // Removes and returns a kept session whose transcript equals `history`; null if none.
  std::shared_ptr<engine::Session> take(const std::vector<engine::Message>& history);
  // Keeps `s` (idle, not busy) as the most recent; drops the least recent beyond capacity.
  void put(std::shared_ptr<engine::Session> s);
  size_t size() const;
  size_t capacity() const { return capacity_; }
  uint64_t hits() const;

 private:
  size_t capacity_;
  mutable std::mutex mu_;
  std::list<std::shared_ptr<engine::Session>> lru_;  // front = most recent
  uint64_t hits_ = 0;
};

}  // namespace mvl::server
