// Tokenizer: loading tokenizer.json and running the encode/decode pipelines
// (added tokens -> normalizer -> normalized added tokens -> pre-tokenizer -> BPE).
#include "llm/tokenizer/tokenizer.h"

#include <fmt/format.h>

#include <mutex>

#include "kernels/core/error.h"
#include "kernels/core/file_io.h"
#include "kernels/core/json.h"
#include "llm/tokenizer/added_vocab.h"
#include "llm/tokenizer/bpe_model.h"
#include "llm/tokenizer/decoder.h"
#include "llm/tokenizer/normalizer.h"
#include "llm/tokenizer/piece_cache.h"
#include "llm/tokenizer/pre_tokenizer.h"
#include "llm/tokenizer/utf8.h"

namespace mvl::llm {

namespace {
// Pre-tokens longer than this are not cached (they are rare and would bloat the cache).
constexpr size_t kMaxCachedPieceBytes = 128;
}  // namespace

// Everything one encode call needs besides the immutable model; pooled for reuse so the
// steady state allocates nothing, and each holds its own pre-token -> ids cache (no locks).
struct EncodeScratch {
  PreTokenScratch pre;
  std::vector<AddedSplit> raw_splits, norm_splits;
  std::vector<std::tuple<size_t, size_t, int32_t>> matches;
  std::string normalized;
  std::vector<int32_t> piece_ids;
  PieceCache cache;  // raw pre-token (before byte mapping) -> ids
};

struct TokenizerImpl {
  BpeModel model;
  AddedVocab added;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  Decoder decoder;
  int64_t vocab_size = 0;

  mutable std::mutex pool_mutex;
  mutable std::vector<std::unique_ptr<EncodeScratch>> pool;

  std::unique_ptr<EncodeScratch> acquire() const {
    {
      std::lock_guard<std::mutex> lock(pool_mutex);
      if (!pool.empty()) {
        auto s = std::move(pool.back());
        pool.pop_back();
        return s;
      }
    }
    return std::make_unique<EncodeScratch>();
  }
  void release(std::unique_ptr<EncodeScratch> s) const {
    std::lock_guard<std::mutex> lock(pool_mutex);
    if (pool.size() < 16) pool.push_back(std::move(s));
  }

  void encode_segment(std::string_view seg, EncodeScratch& sc, std::vector<int32_t>& ids) const {
    // The raw piece determines the model input (the remaining stages are one-to-one), so
    // cache hits skip byte mapping as well as the merges.
    pre_tokenizer.run_splits(seg, sc.pre, [&](std::string_view raw) {
      const bool cacheable = raw.size() <= kMaxCachedPieceBytes;
      uint64_t h = 0;
      if (cacheable) {
        h = PieceCache::hash(raw);
        std::span<const int32_t> hit;
        if (sc.cache.find(raw, h, hit)) {
          ids.insert(ids.end(), hit.begin(), hit.end());
          return;
        }
      }
      sc.piece_ids.clear();
      model.tokenize(pre_tokenizer.finish(raw, sc.pre), sc.piece_ids);
      ids.insert(ids.end(), sc.piece_ids.begin(), sc.piece_ids.end());
      if (cacheable) sc.cache.insert(raw, h, sc.piece_ids);
    });
  }
};

Tokenizer Tokenizer::from_file(const std::string& path, int64_t max_vocab) {
  // read_file's errors already name the path.
  const std::string text =
      in_context("tokenizer", [&] { return read_regular_file(path, kMaxTokenizerFileBytes); });
  return from_json_text(text, path, max_vocab);
}

Tokenizer Tokenizer::from_json_text(const std::string& text, const std::string& what,
                                    int64_t max_vocab) {
  return in_context(fmt::format("tokenizer '{}'", what),
                    [&] { return Tokenizer(build_impl(text, max_vocab)); });
}

std::shared_ptr<const TokenizerImpl> Tokenizer::build_impl(const std::string& text,
                                                           int64_t max_vocab) {
  auto impl = std::make_shared<TokenizerImpl>();
  json::Json j;
  try {
    j = json::Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw_error(
        ErrorCategory::bad_format,
        fmt::format("invalid JSON at byte {}; expected a Hugging Face tokenizer.json", e.byte));
  } catch (const nlohmann::json::exception& e) {  // 1e999: out_of_range (found by fuzzing)
    throw_error(ErrorCategory::bad_format, fmt::format("invalid JSON ({})", e.what()));
  }
  if (!j.is_object())
    throw_error(ErrorCategory::bad_format,
                fmt::format("expected a JSON object, got {}", j.type_name()));
  auto model = j.find("model");
  if (model == j.end() || model->is_null()) {
    throw_error(ErrorCategory::bad_format,
                "'model' is missing; is this a Hugging Face tokenizer.json?");
  }
  impl->model = BpeModel::from_json(*model, max_vocab);
  auto get = [&](const char* key) -> const json::Json& {
    static const json::Json null_json;
    auto it = j.find(key);
    return it == j.end() ? null_json : *it;
  };
  impl->normalizer = Normalizer::from_json(get("normalizer"));
  impl->pre_tokenizer = PreTokenizer::from_json(get("pre_tokenizer"));
  impl->decoder = Decoder::from_json(get("decoder"));
  std::vector<AddedToken> added = parse_added_tokens(get("added_tokens"));
  int64_t max_id = impl->model.max_id();
  for (const auto& t : added) {
    if (t.id >= max_vocab)
      throw_error(ErrorCategory::bad_format,
                  fmt::format("added token '{}' has id {}, beyond the model's vocab_size {}",
                              t.content, t.id, max_vocab));
    max_id = std::max<int64_t>(max_id, t.id);
  }
  impl->vocab_size = max_id + 1;
  RegexScratch rs;
  impl->added.build(std::move(added), [&](const std::string& content) {
    std::string s = content;
    impl->normalizer.apply(s, rs);
    return s;
  });
  return impl;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  const TokenizerImpl& t = *impl_;
  const size_t bad = utf8::find_invalid(text);
  MVL_CHECK(bad == std::string_view::npos, invalid_argument,
            "text is not valid UTF-8 (byte {} of {}); convert it to UTF-8 first", bad, text.size());
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  std::unique_ptr<EncodeScratch> sc = t.acquire();
  t.added.split(text, false, parse_special, sc->raw_splits, sc->matches);
  for (const AddedSplit& s : sc->raw_splits) {
    if (s.id >= 0) {
      ids.push_back(s.id);
      continue;
    }
    std::string_view seg = text.substr(s.begin, s.end - s.begin);
    if (!t.normalizer.empty()) {
      sc->normalized.assign(seg);
      t.normalizer.apply(sc->normalized, sc->pre.regex);
      seg = sc->normalized;
    }
    if (!t.added.has_normalized()) {
      t.encode_segment(seg, *sc, ids);
      continue;
    }
    // normalized is reused only by the next raw split, after this loop over seg is done.
    std::vector<AddedSplit> norm_splits;
    t.added.split(seg, true, parse_special, norm_splits, sc->matches);
    for (const AddedSplit& n : norm_splits) {
      if (n.id >= 0)
        ids.push_back(n.id);
      else
        t.encode_segment(seg.substr(n.begin, n.end - n.begin), *sc, ids);
    }
  }
  t.release(std::move(sc));
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  const TokenizerImpl& t = *impl_;
  if (t.decoder.is_byte_level_only()) {
    // Same result as the generic chain, without a string per token.
    std::string bytes;
    bytes.reserve(ids.size() * 4);
    for (int32_t id : ids) token_bytes(id, skip_special, bytes);
    return utf8::to_valid_lossy(bytes);
  }
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const AddedToken* a = t.added.by_id(id)) {
      if (!(skip_special && a->special)) tokens.push_back(a->content);
    } else if (const std::string* s = t.model.id_to_token(id)) {
      tokens.push_back(*s);
    }
    // Ids with no token are dropped, as Hugging Face does.
  }
  RegexScratch rs;
  return t.decoder.decode(std::move(tokens), rs);
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const AddedToken* a = impl_->added.by_content(token)) return a->id;
  return impl_->model.token_to_id(token);
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* a = impl_->added.by_id(id)) return a->content;
  if (const std::string* s = impl_->model.id_to_token(id)) return *s;
  return {};
}

bool Tokenizer::has_id(int32_t id) const {
  return impl_->added.by_id(id) != nullptr || impl_->model.id_to_token(id) != nullptr;
}

int64_t Tokenizer::vocab_size() const {
  return impl_->vocab_size;
}

bool Tokenizer::is_special(int32_t id) const {
  const AddedToken* a = impl_->added.by_id(id);
  return a != nullptr && a->special;
}

const std::vector<AddedToken>& Tokenizer::added_tokens() const {
  return impl_->added.tokens();
}

bool Tokenizer::streams_bytes() const {
  return impl_->decoder.is_byte_level_only();
}

void Tokenizer::token_bytes(int32_t id, bool skip_special, std::string& out) const {
  if (const AddedToken* a = impl_->added.by_id(id)) {
    if (!(skip_special && a->special)) byte_level_token_bytes(a->content, out);
  } else if (const std::string* s = impl_->model.id_to_token(id)) {
    byte_level_token_bytes(*s, out);
  }
}

}  // namespace mvl::llm
