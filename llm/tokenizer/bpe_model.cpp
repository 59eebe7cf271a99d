// BPE model: loading vocab/merges from tokenizer.json and the merge loop.
#include "llm/tokenizer/bpe_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <queue>

#include "kernels/core/error.h"
#include "llm/tokenizer/utf8.h"

namespace mvl::llm {
namespace {

using Json = nlohmann::json;

[[noreturn]] void bad(const std::string& msg) {
  throw_error(ErrorCategory::bad_format, msg);
}

std::optional<std::string> opt_str(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string())
    bad(fmt::format("model.{}: expected a string, got {}", key, it->type_name()));
  return it->get<std::string>();
}

bool opt_flag(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_boolean())
    bad(fmt::format("model.{}: expected true/false, got {}", key, it->type_name()));
  return it->get<bool>();
}

}  // namespace

void BpeModel::MergeMap::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;  // load factor <= 0.5
  if (cap > slots_.size()) rehash(cap);
}

void BpeModel::MergeMap::rehash(size_t capacity) {
  std::vector<Slot> old(capacity);
  old.swap(slots_);
  mask_ = capacity - 1;
  shift_ = 64 - std::countr_zero(capacity);
  for (const Slot& s : old) {
    if (s.key == kEmptyKey) continue;
    size_t i = index(s.key);
    while (slots_[i].key != kEmptyKey) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void BpeModel::MergeMap::insert_or_assign(uint64_t key, Merge m) {
  if ((count_ + 1) * 2 > slots_.size()) rehash(std::max<size_t>(16, slots_.size() * 2));
  size_t i = index(key);
  while (slots_[i].key != kEmptyKey && slots_[i].key != key) i = (i + 1) & mask_;
  if (slots_[i].key == kEmptyKey) ++count_;
  slots_[i].key = key;
  slots_[i].merge = m;
}

BpeModel BpeModel::from_json(const Json& model, int64_t max_vocab) {
  BpeModel m;
  if (!model.is_object()) bad(fmt::format("'model' must be an object, got {}", model.type_name()));
  auto type_it = model.find("type");
  // Old files omit "type" for BPE; anything else must say BPE.
  if (type_it != model.end() && !type_it->is_null()) {
    if (!type_it->is_string()) bad("model.type: expected a string");
    const std::string type = type_it->get<std::string>();
    if (type != "BPE") {
      throw_error(ErrorCategory::unsupported,
                  fmt::format("model type '{}' is not supported (only BPE tokenizers are)", type));
    }
  }
  if (auto d = model.find("dropout"); d != model.end() && !d->is_null()) {
    if (!d->is_number()) bad("model.dropout: expected a number or null");
    const double p = d->get<double>();
    if (p > 0.0 && p < 1.0) {
      throw_error(
          ErrorCategory::unsupported,
          fmt::format("model.dropout = {} is not supported (inference is deterministic)", p));
    }
  }
  m.unk_token_ = opt_str(model, "unk_token");
  m.continuing_subword_prefix_ = opt_str(model, "continuing_subword_prefix").value_or("");
  m.end_of_word_suffix_ = opt_str(model, "end_of_word_suffix").value_or("");
  m.fuse_unk_ = opt_flag(model, "fuse_unk");
  m.byte_fallback_ = opt_flag(model, "byte_fallback");
  m.ignore_merges_ = opt_flag(model, "ignore_merges");

  auto vit = model.find("vocab");
  if (vit == model.end() || !vit->is_object()) {
    bad(vit == model.end()
            ? "model.vocab is missing"
            : fmt::format("model.vocab: expected an object, got {}", vit->type_name()));
  }
  int64_t max_id = -1;
  m.vocab_.reserve(vit->size() * 2);
  for (auto it = vit->begin(); it != vit->end(); ++it) {
    if (!it.value().is_number_integer()) {
      bad(fmt::format("model.vocab['{}']: expected an integer id, got {}", it.key(),
                      it.value().type_name()));
    }
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id > 0x7FFFFFFF)
      bad(fmt::format("model.vocab['{}']: id {} is out of range", it.key(), id));
    if (id >= max_vocab)
      bad(fmt::format("model.vocab['{}']: id {} is beyond the model's vocab_size {}", it.key(), id,
                      max_vocab));
    m.vocab_[it.key()] = static_cast<int32_t>(id);
    max_id = std::max(max_id, id);
  }
  m.id_to_token_.assign(static_cast<size_t>(max_id + 1), std::string());
  m.has_token_.assign(static_cast<size_t>(max_id + 1), false);
  for (const auto& [tok, id] : m.vocab_) {
    m.id_to_token_[static_cast<size_t>(id)] = tok;
    m.has_token_[static_cast<size_t>(id)] = true;
  }
  if (m.unk_token_) {
    auto u = m.vocab_.find(*m.unk_token_);
    if (u == m.vocab_.end())
      bad(fmt::format("model.unk_token '{}' is not in the vocabulary", *m.unk_token_));
    m.unk_id_ = u->second;
  }
  for (int b = 0; b < 256; ++b) {
    auto it = m.vocab_.find(fmt::format("<0x{:02X}>", b));
    m.byte_ids_[b] = it == m.vocab_.end() ? -1 : it->second;
  }

  auto mit = model.find("merges");
  if (mit == model.end() || mit->is_null()) bad("model.merges is missing");
  if (!mit->is_array())
    bad(fmt::format("model.merges: expected an array, got {}", mit->type_name()));
  m.merges_.reserve(mit->size());
  int32_t rank = 0;
  std::string merged;
  for (const auto& entry : *mit) {
    std::string_view a, b;
    if (entry.is_string()) {
      const std::string& s = entry.get_ref<const std::string&>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
        bad(fmt::format("model.merges[{}] = '{}': expected two tokens separated by one space", rank,
                        s));
      }
      a = std::string_view(s).substr(0, sp);
      b = std::string_view(s).substr(sp + 1);
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() &&
               entry[1].is_string()) {
      a = entry[0].get_ref<const std::string&>();
      b = entry[1].get_ref<const std::string&>();
    } else {
      bad(fmt::format("model.merges[{}]: expected \"a b\" or [\"a\", \"b\"], got {}", rank,
                      entry.dump()));
    }
    auto ia = m.vocab_.find(a);
    auto ib = m.vocab_.find(b);
    if (ia == m.vocab_.end() || ib == m.vocab_.end()) {
      bad(fmt::format("model.merges[{}]: token '{}' is not in the vocabulary", rank,
                      ia == m.vocab_.end() ? a : b));
    }
    std::string_view bs = b;
    if (!m.continuing_subword_prefix_.empty() && bs.starts_with(m.continuing_subword_prefix_)) {
      bs.remove_prefix(m.continuing_subword_prefix_.size());
    }
    merged.assign(a);
    merged.append(bs);
    auto in = m.vocab_.find(std::string_view(merged));
    if (in == m.vocab_.end()) {
      bad(fmt::format("model.merges[{}]: merged token '{}' is not in the vocabulary", rank,
                      merged));
    }
    // A repeated pair keeps its last rank, as in Hugging Face's map construction.
    m.merges_.insert_or_assign(pair_key(ia->second, ib->second), Merge{rank, in->second});
    ++rank;
  }
  return m;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() ||
      !has_token_[static_cast<size_t>(id)]) {
    return nullptr;
  }
  return &id_to_token_[static_cast<size_t>(id)];
}

void BpeModel::initial_symbols(std::string_view w, std::vector<int32_t>& ids) const {
  // Pending unknown run (id, fused) as in Hugging Face's merge_word: it is flushed before the
  // next known character, and byte-fallback bytes are appended without flushing it.
  bool have_unk = false;
  std::string buf;
  size_t i = 0;
  while (i < w.size()) {
    const size_t len = std::min(utf8::seq_len(static_cast<unsigned char>(w[i])), w.size() - i);
    const bool is_first = i == 0;
    const bool is_last = i + len >= w.size();
    std::string_view s = w.substr(i, len);
    if ((!is_first && !continuing_subword_prefix_.empty()) ||
        (is_last && !end_of_word_suffix_.empty())) {
      buf.clear();
      if (!is_first) buf += continuing_subword_prefix_;
      buf += s;
      if (is_last) buf += end_of_word_suffix_;
      s = buf;
    }
    i += len;
    auto it = vocab_.find(s);
    if (it != vocab_.end()) {
      if (have_unk) {
        ids.push_back(*unk_id_);
        have_unk = false;
      }
      ids.push_back(it->second);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (unsigned char c : s) all = all && byte_ids_[c] >= 0;
      if (all) {
        for (unsigned char c : s) ids.push_back(byte_ids_[c]);
        continue;
      }
    }
    if (unk_id_) {
      if (have_unk && !fuse_unk_) ids.push_back(*unk_id_);
      have_unk = true;
    }
  }
  if (have_unk) ids.push_back(*unk_id_);
}

void BpeModel::merge_all(std::vector<int32_t>& ids) const {
  const int n = static_cast<int>(ids.size());
  if (n < 2 || merges_.empty()) return;
  // Doubly linked symbols; `alive` false once merged into the left neighbour.
  struct Sym {
    int32_t id;
    int prev, next;
    bool alive;
  };
  struct Cand {
    int32_t rank;
    int pos;
    int32_t new_id;
    bool operator<(const Cand& o) const {  // max-heap inverted: lowest rank, then leftmost
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::vector<Sym> sym(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) sym[k] = Sym{ids[k], k - 1, k + 1 < n ? k + 1 : -1, true};
  std::priority_queue<Cand> heap;
  auto lookup = [&](int32_t a, int32_t b) -> const Merge* {
    return merges_.find(pair_key(a, b));
  };
  for (int k = 0; k + 1 < n; ++k) {
    if (const Merge* m = lookup(sym[k].id, sym[k + 1].id)) heap.push(Cand{m->rank, k, m->new_id});
  }
  while (!heap.empty()) {
    const Cand top = heap.top();
    heap.pop();
    Sym& cur = sym[top.pos];
    if (!cur.alive || cur.next < 0) continue;
    Sym& right = sym[cur.next];
    // Skip stale entries: the pair at this position must still merge into the same token.
    const Merge* now = lookup(cur.id, right.id);
    if (!now || now->new_id != top.new_id) continue;
    cur.id = top.new_id;
    right.alive = false;
    cur.next = right.next;
    if (cur.next >= 0) sym[cur.next].prev = top.pos;
    if (cur.prev >= 0) {
      if (const Merge* m = lookup(sym[cur.prev].id, cur.id))
        heap.push(Cand{m->rank, cur.prev, m->new_id});
    }
    if (cur.next >= 0) {
      if (const Merge* m = lookup(cur.id, sym[cur.next].id))
        heap.push(Cand{m->rank, top.pos, m->new_id});
    }
  }
  ids.clear();
  for (int k = 0; k >= 0; k = sym[k].next) ids.push_back(sym[k].id);
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (auto it = vocab_.find(word); it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  std::vector<int32_t> ids;
  ids.reserve(word.size());
  initial_symbols(word, ids);
  merge_all(ids);
  out.insert(out.end(), ids.begin(), ids.end());
}

}  // namespace mvl::llm
