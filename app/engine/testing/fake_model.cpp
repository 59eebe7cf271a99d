// The fake model's three parts. Everything is deterministic; see fake_model.h.
#include "app/engine/testing/fake_model.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "kernels/core/error.h"
#include "vision/config/vision_config.h"

namespace mvl::engine::testing {
namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void sleep_ms(int ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::vector<int32_t> bytes(const std::string& s) {
  std::vector<int32_t> ids;
  for (unsigned char c : s) ids.push_back(c);
  return ids;
}

class FakeCodec : public PromptCodec {
 public:
  std::vector<Piece> encode_message(const Message& m) const override {
    std::vector<Piece> out(1);
    out[0].ids.push_back(kFakeBos);
    auto head = bytes(std::string(role_name(m.role)) + "\n");
    out[0].ids.insert(out[0].ids.end(), head.begin(), head.end());
    int image = 0;
    for (const auto& p : m.parts) {
      if (p.kind == ContentPart::Kind::image) {
        out.push_back(Piece{{}, image++});
        out.push_back(Piece{});
      } else {
        auto b = encode_text(p.text);
        out.back().ids.insert(out.back().ids.end(), b.begin(), b.end());
      }
    }
    out.back().ids.push_back(kFakeEos);
    out.back().ids.push_back('\n');
    return out;
  }
  std::vector<int32_t> generation_prompt() const override {
    auto ids = bytes("assistant\n");
    ids.insert(ids.begin(), kFakeBos);
    return ids;
  }
  std::vector<int32_t> assistant_close() const override { return {kFakeEos, '\n'}; }
  std::vector<int32_t> encode_text(const std::string& text) const override { return bytes(text); }
  std::vector<int32_t> encode_raw(const std::string& text) const override { return bytes(text); }
  int64_t vocab_size() const override { return kFakeVocab; }
  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string s;
    for (int32_t id : ids)
      if (id < 256) s.push_back(static_cast<char>(id));
    return s;
  }
  bool is_special(int32_t id) const override { return id >= 256; }
  int32_t eos_id() const override { return kFakeEos; }

  class ByteStream : public Stream {
   public:
    std::string push(int32_t id) override {
      if (id >= 256) return {};
      buf_.push_back(static_cast<char>(id));
      // Emit only complete UTF-8 sequences.
      size_t cut = buf_.size(), i = buf_.size();
      while (i > 0 && i + 4 > buf_.size()) {
        --i;
        const unsigned char c = buf_[i];
        if ((c & 0xC0) == 0x80) continue;
        const size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
        if (i + len > buf_.size()) cut = i;
        break;
      }
      std::string out = buf_.substr(0, cut);
      buf_.erase(0, cut);
      return out;
    }
    std::string flush() override {
      std::string out;
      if (!buf_.empty()) out = "\xEF\xBF\xBD";  // an incomplete sequence becomes U+FFFD
      buf_.clear();
      return out;
    }

   private:
    std::string buf_;
  };
  std::unique_ptr<Stream> stream() const override { return std::make_unique<ByteStream>(); }
};

struct FakeSnapshot : StateSnapshot {
  uint64_t hash = 0;
  int64_t len = 0, decodes = 0;
  int64_t length() const override { return len; }
};

class FakeState : public ModelState {
 public:
  uint64_t hash = 0x1234;
  int64_t len = 0;
  int64_t decodes = 0;  // decode steps since the last prefill
  int64_t length() const override { return len; }
  std::unique_ptr<StateSnapshot> snapshot() const override {
    auto s = std::make_unique<FakeSnapshot>();
    s->hash = hash;
    s->len = len;
    s->decodes = decodes;
    return s;
  }
  void restore(const StateSnapshot& s) override {
    const auto& f = dynamic_cast<const FakeSnapshot&>(s);
    hash = f.hash;
    len = f.len;
    decodes = f.decodes;
  }
  void reset() override {
    hash = 0x1234;
    len = 0;
    decodes = 0;
  }
};

class FakeLm : public LanguageModel {
 public:
  FakeLm(FakeOptions o, std::shared_ptr<FakeStats> st) : o_(o), st_(std::move(st)) {}
  std::unique_ptr<ModelState> new_state() override { return std::make_unique<FakeState>(); }
  Tensor prefill(const std::vector<Segment>& segs, ModelState& state, bool all_positions) override {
    auto& s = dynamic_cast<FakeState&>(state);
    sleep_ms(o_.prefill_delay_ms);
    std::vector<float> rows;  // all_positions: the logits after each position
    auto step = [&] {
      if (all_positions) {
        const auto l = logits(s);
        rows.insert(rows.end(), l.begin(), l.end());
      }
    };
    for (const auto& seg : segs) {
      if (seg.is_rows()) {
        check_shape(seg.rows, {seg.rows.dim(0), o_.hidden}, "fake prefill rows");
        const Tensor c = contiguous(seg.rows);
        const float* p = c.data<float>();
        for (int64_t r = 0; r < c.dim(0); ++r) {
          uint32_t bits;
          std::memcpy(&bits, p + r * o_.hidden, 4);
          s.hash = mix(s.hash, 0x100000000ull + bits);
          step();
        }
      } else {
        for (int32_t id : seg.ids) {
          MVL_CHECK(id >= 0 && id < kFakeVocab, invalid_argument, "fake: token id {} out of range", id);
          s.hash = mix(s.hash, static_cast<uint64_t>(id));
          step();
        }
      }
      s.len += seg.size();
      st_->prefilled_positions += seg.size();
    }
    MVL_CHECK(s.len <= o_.max_context, out_of_memory, "fake: context overflow");
    st_->prefill_calls++;
    s.decodes = 0;
    if (all_positions)
      return Tensor::from_f32({static_cast<int64_t>(rows.size()) / kFakeVocab, kFakeVocab}, rows);
    return Tensor::from_f32({kFakeVocab}, logits(s));
  }
  Tensor decode(int32_t id, ModelState& state) override {
    auto& s = dynamic_cast<FakeState&>(state);
    sleep_ms(o_.decode_delay_ms);
    st_->decode_calls++;
    s.decodes++;
    MVL_CHECK(s.decodes != o_.fail_at_decode, device, "fake: injected failure at decode step {}",
              s.decodes);
    s.hash = mix(s.hash, static_cast<uint64_t>(id));
    s.len++;
    return Tensor::from_f32({kFakeVocab}, logits(s));
  }
  bool asynchronous() const override { return o_.asynchronous; }
  int64_t vocab_size() const override { return kFakeVocab; }
  int64_t hidden_size() const override { return o_.hidden; }
  int64_t max_context() const override { return o_.max_context; }

 private:
  // Printable ASCII only, so streamed text is readable; EOS only when forced.
  std::vector<float> logits(const FakeState& s) const {
    std::vector<float> l(kFakeVocab, -1e9f);
    for (int v = 32; v < 127; ++v) l[v] = static_cast<float>(mix(s.hash, v) >> 40) / float(1 << 24);
    if (o_.eos_after >= 0 && s.decodes + 1 >= o_.eos_after) l[kFakeEos] = 10.0f;
    return l;
  }
  FakeOptions o_;
  std::shared_ptr<FakeStats> st_;
};

struct FakePrepared : PreparedImage {
  uint64_t seed = 0;
};

class FakeVision : public VisionEncoder {
 public:
  FakeVision(FakeOptions o, std::shared_ptr<FakeStats> st) : o_(o), st_(std::move(st)) {}
  std::shared_ptr<const PreparedImage> prepare(const std::string& path) const override {
    std::ifstream f(path);
    MVL_CHECK(f.good(), not_found, "image '{}': cannot open the file; check the path", path);
    std::string magic;
    int64_t w = 0, h = 0;
    f >> magic >> w >> h;
    MVL_CHECK(magic == "FAKEIMG" && w > 0 && h > 0, bad_format,
              "image '{}': not an image this build can decode", path);
    auto p = std::make_shared<FakePrepared>();
    p->path = path;
    p->width = w;
    p->height = h;
    p->grid_rows = 1 + (h > w);
    p->grid_cols = 1 + (w > h);
    p->image_tokens = 3 + (w + h) % 5;
    p->seed = mix(static_cast<uint64_t>(w), static_cast<uint64_t>(h));
    return p;
  }
  Tensor encode(const PreparedImage& img, const CancelCheck& cancelled) override {
    const auto& p = dynamic_cast<const FakePrepared&>(img);
    const int64_t tiles = 1 + p.grid_rows * p.grid_cols;
    for (int64_t t = 0; t < tiles; ++t) {
      if (cancelled && cancelled()) return {};
      sleep_ms(o_.encode_delay_ms);
    }
    std::vector<float> v(static_cast<size_t>(p.image_tokens * o_.hidden));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(mix(p.seed, i) >> 40) / float(1 << 24);
    st_->images_encoded++;
    return Tensor::from_f32({p.image_tokens, o_.hidden}, v);
  }
  // The released processor's map (the fake's own token counts are smaller; only front ends'
  // drawing of the map is tested with it).
  TileMap tile_map(int64_t width, int64_t height) const override {
    return compute_tile_map(width, height, vision::PreprocessConfig{}, budget_.load());
  }
  void set_max_image_tokens(int64_t n) override { budget_ = n; }

 private:
  FakeOptions o_;
  std::shared_ptr<FakeStats> st_;
  std::atomic<int64_t> budget_{0};
};

}  // namespace

LoadedModel make_fake_model(const FakeOptions& opts, std::shared_ptr<FakeStats> stats) {
  if (!stats) stats = std::make_shared<FakeStats>();
  LoadedModel m;
  m.info.dir = "(fake)";
  m.info.layout = "fake";
  m.info.backend = "cpu";
  m.info.num_layers = 1;
  m.info.hidden_size = opts.hidden;
  m.info.vocab_size = kFakeVocab;
  m.info.max_context = opts.max_context;
  m.info.eos_token_id = kFakeEos;
  m.info.image_token_id = kFakeImage;
  m.codec = std::make_unique<FakeCodec>();
  m.lm = std::make_unique<FakeLm>(opts, stats);
  m.vision = std::make_unique<FakeVision>(opts, stats);
  return m;
}

void write_fake_image(const std::string& path, int64_t width, int64_t height) {
  std::ofstream f(path);
  MVL_CHECK(f.good(), io, "cannot write '{}'", path);
  f << "FAKEIMG " << width << " " << height << "\n";
}

}  // namespace mvl::engine::testing
