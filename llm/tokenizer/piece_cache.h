// Pre-token -> ids cache for the encoder's hot path: an open-addressing table whose keys and
// values live in two flat arenas, so a hit costs one hash, one probe and one memcmp (no node
// or per-entry heap allocation). Cleared wholesale when full; owned by one encode at a time.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace mvl::llm {

class PieceCache {
 public:
  explicit PieceCache(size_t max_entries = size_t{1} << 17) : max_entries_(max_entries) { reset(); }

  // Cached ids of `key`, or an empty optional-like null span with found=false.
  bool find(std::string_view key, uint64_t h, std::span<const int32_t>& ids) const {
    size_t i = h & mask_;
    while (true) {
      const Slot& s = slots_[i];
      if (s.key_len == kEmpty) return false;
      if (s.hash == h && s.key_len == key.size() &&
          std::memcmp(keys_.data() + s.key_off, key.data(), key.size()) == 0) {
        ids = std::span<const int32_t>(values_.data() + s.val_off, s.val_len);
        return true;
      }
      i = (i + 1) & mask_;
    }
  }

  void insert(std::string_view key, uint64_t h, std::span<const int32_t> ids) {
    if (key.size() >= kEmpty || ids.size() > 0xFFFF) return;
    if (count_ + 1 > max_entries_) reset();
    if ((count_ + 1) * 2 > slots_.size()) grow();
    size_t i = h & mask_;
    while (slots_[i].key_len != kEmpty) i = (i + 1) & mask_;
    Slot& s = slots_[i];
    s.hash = h;
    s.key_off = static_cast<uint32_t>(keys_.size());
    s.key_len = static_cast<uint16_t>(key.size());
    s.val_off = static_cast<uint32_t>(values_.size());
    s.val_len = static_cast<uint16_t>(ids.size());
    keys_.insert(keys_.end(), key.begin(), key.end());
    values_.insert(values_.end(), ids.begin(), ids.end());
    ++count_;
  }

  // A fast 64-bit hash for short strings (8 bytes per multiply-mix step).
  static uint64_t hash(std::string_view s) {
    constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
    uint64_t h = 0x243F6A8885A308D3ull ^ (s.size() * kMul);
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      h = (h ^ w) * kMul;
      h ^= h >> 29;
    }
    if (i < s.size()) {
      uint64_t w = 0;
      std::memcpy(&w, s.data() + i, s.size() - i);
      h = (h ^ w) * kMul;
      h ^= h >> 29;
    }
    h *= kMul;
    return h ^ (h >> 32);
  }

 private:
  static constexpr uint16_t kEmpty = 0xFFFF;
  struct Slot {
    uint64_t hash = 0;
    uint32_t key_off = 0, val_off = 0;
    uint16_t key_len = kEmpty, val_len = 0;
  };
  // Starts small (a short prompt should not pay for a big table) and doubles at load 0.5.
  void reset() {
    const size_t cap = 4096;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    keys_.clear();
    values_.clear();
    count_ = 0;
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2, Slot{});
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.key_len == kEmpty) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].key_len != kEmpty) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  size_t max_entries_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  std::vector<char> keys_;
  std::vector<int32_t> values_;
  size_t count_ = 0;
};

}  // namespace mvl::llm
