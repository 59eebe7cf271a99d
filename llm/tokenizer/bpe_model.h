// The BPE model of a tokenizer.json ("model": {"type": "BPE", ...}): vocabulary, ranked merges
// (either "a b" strings or ["a", "b"] pairs), unk/byte_fallback/fuse_unk, ignore_merges and
// the continuing-subword/end-of-word affixes. tokenize() turns one pre-token into ids with the
// same heap-ordered merge loop as Hugging Face (lowest rank first, then leftmost).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mvl::llm {

// Hash/equality that let unordered_map<std::string, T> be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename T>
using StringMap = std::unordered_map<std::string, T, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  // Parses the "model" object; throws Error{bad_format|unsupported} naming the bad field.
  // Ids must lie below `max_vocab` (checked before the dense id table is sized).
  static BpeModel from_json(const nlohmann::json& model, int64_t max_vocab = int64_t{1} << 24);

  // Appends the ids of one pre-token to `out`. `word` must be non-empty valid UTF-8.
  void tokenize(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // Empty optional when `id` is not in the model vocabulary.
  const std::string* id_to_token(int32_t id) const;
  int64_t max_id() const { return static_cast<int64_t>(id_to_token_.size()) - 1; }

 private:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  // Initial symbols of `word`: one per character (or byte-fallback byte / fused unk).
  void initial_symbols(std::string_view word, std::vector<int32_t>& ids) const;
  void merge_all(std::vector<int32_t>& ids) const;

  StringMap<int32_t> vocab_;
  std::vector<std::string> id_to_token_;  // "" for ids with no vocab entry (holes)
  std::vector<bool> has_token_;
  // (left id, right id) -> merge: open addressing with linear probing (the merge loop looks
  // pairs up constantly; std::unordered_map's modulo and node hops cost more than the merge).
  class MergeMap {
   public:
    void reserve(size_t n);
    void insert_or_assign(uint64_t key, Merge m);
    const Merge* find(uint64_t key) const {
      if (slots_.empty()) return nullptr;
      for (size_t i = index(key);; i = (i + 1) & mask_) {
        const Slot& s = slots_[i];
        if (s.key == key) return &s.merge;
        if (s.key == kEmptyKey) return nullptr;
      }
    }
    bool empty() const { return count_ == 0; }

   private:
    static constexpr uint64_t kEmptyKey = ~uint64_t{0};  // ids are >= 0, so never a real pair
    struct Slot {
      uint64_t key = kEmptyKey;
      Merge merge{0, 0};
    };
    size_t index(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> shift_; }
    void rehash(size_t capacity);
    std::vector<Slot> slots_;
    size_t mask_ = 0, count_ = 0;
    int shift_ = 64;
  };
  MergeMap merges_;
  std::optional<std::string> unk_token_;
  std::optional<int32_t> unk_id_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  int32_t byte_ids_[256];  // <0xXX> token ids for byte_fallback, -1 when absent
};

}  // namespace mvl::llm
