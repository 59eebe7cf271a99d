// SessionCache: an LRU list of idle sessions matched by exact transcript equality.
#include "app/server/session_cache.h"

namespace mvl::server {

bool same_transcript(const std::vector<engine::Message>& a, const std::vector<engine::Message>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].role != b[i].role || a[i].parts.size() != b[i].parts.size()) return false;
    for (size_t k = 0; k < a[i].parts.size(); ++k) {
      const auto& p = a[i].parts[k];
      const auto& q = b[i].parts[k];
      if (p.kind != q.kind) return false;
      if (p.kind == engine::ContentPart::Kind::text ? p.text != q.text
                                                    : p.image_path != q.image_path)
        return false;
    }
  }
  return true;
}

std::shared_ptr<engine::Session> SessionCache::take(const std::vector<engine::Message>& history) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    if (!(*it)->busy() && same_transcript((*it)->messages(), history)) {
      auto s = std::move(*it);
      lru_.erase(it);
      ++hits_;
      return s;
    }
  }
  return nullptr;
}

void SessionCache::put(std::shared_ptr<engine::Session> s) {
  if (capacity_ == 0 || !s) return;
  std::lock_guard<std::mutex> lock(mu_);
  lru_.push_front(std::move(s));
  while (lru_.size() > capacity_) lru_.pop_back();
}

size_t SessionCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

uint64_t SessionCache::hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hits_;
}

}  // namespace mvl::server
