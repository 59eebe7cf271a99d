// PromptCodec over llm::Tokenizer and llm::render_chat. Prompt encoding keeps user text away
// from special-token parsing: each message is rendered by llm::render_chat with private-use
// sentinels in place of the text items, the template's own parts are encoded with specials
// ON, the user's text with specials OFF, and each literal `<image>` of the template becomes
// an image slot.
#include "app/engine/loading/prompt_codec.h"

#include <string>

#include "kernels/core/error.h"
#include "llm/chat/chat_template.h"
#include "llm/tokenizer/incremental_detokenizer.h"

namespace mvl::engine {
namespace {

// U+E000 / U+E001 (private use): never produced by the template itself.
constexpr const char* kSentinelOpen = "\xEE\x80\x80";
constexpr const char* kSentinelClose = "\xEE\x80\x81";

class TokenizerCodec : public PromptCodec {
 public:
  TokenizerCodec(llm::Tokenizer tok, int64_t image_token) : tok_(std::move(tok)) {
    const auto eos = tok_.token_to_id(llm::kEndOfSentence);
    MVL_CHECK(eos.has_value(), not_found, "tokenizer.json has no '{}' token (the end-of-turn marker)",
              llm::kEndOfSentence);
    eos_ = *eos;
    const auto img = tok_.token_to_id(llm::kImageToken);
    MVL_CHECK(img.has_value() && *img == image_token, bad_format,
              "tokenizer.json maps '<image>' to {} but config.json says image_token_index = {}",
              img ? std::to_string(*img) : "nothing", image_token);
    // The generation prompt is what add_generation_prompt appends.
    const llm::ChatMessage probe = llm::make_message("user", "x");
    const std::string without = llm::render_chat({probe}, false);
    const std::string with = llm::render_chat({probe}, true);
    MVL_CHECK(with.size() > without.size() && with.compare(0, without.size(), without) == 0, internal,
              "the chat template's generation prompt is not a suffix of the conversation");
    gen_text_ = with.substr(without.size());
    gen_ = tok_.encode(gen_text_, true);
    // An answer renders as <open><content><close>; <open> must be the generation prompt so
    // a streamed answer and a replayed one are the same positions.
    llm::ChatMessage a;
    a.role = "assistant";
    a.content = llm::text_content(std::string(kSentinelOpen) + kSentinelClose);
    const std::string r = llm::render_chat({a}, false);
    const size_t at = r.find(kSentinelOpen);
    MVL_ASSERT(at != std::string::npos);
    MVL_CHECK(r.substr(0, at) == gen_text_, internal,
              "the chat template opens an assistant turn differently from its generation prompt");
    close_ = tok_.encode(r.substr(at + 6), true);
    // Token strings are at least as long as the bytes they stand for (ByteLevel maps a byte
    // to 1-2 UTF-8 bytes, byte fallback <0xAB> to 6), so the longest one bounds bytes/token.
    for (int64_t id = 0; id < tok_.vocab_size(); ++id)
      if (tok_.has_id(static_cast<int32_t>(id)))
        max_token_bytes_ =
            std::max(max_token_bytes_, tok_.id_to_token(static_cast<int32_t>(id)).size());
  }

  std::vector<Piece> encode_message(const Message& m) const override {
    llm::ChatMessage cm;
    cm.role = role_name(m.role);
    std::vector<std::string> texts;
    for (const auto& p : m.parts) {
      llm::ContentItem it;
      if (p.kind == ContentPart::Kind::image) {
        it.kind = llm::ContentItem::Kind::image;
      } else {
        it.kind = llm::ContentItem::Kind::text;
        it.text = kSentinelOpen + std::to_string(texts.size()) + kSentinelClose;
        texts.push_back(p.text);
      }
      cm.content.push_back(std::move(it));
    }
    const std::string r = llm::render_chat({cm}, false);
    std::vector<Piece> out(1);
    int image = 0;
    auto add_template = [&](const std::string& s) {
      // Template text: specials ON; each literal <image> is a slot.
      size_t pos = 0;
      while (pos <= s.size()) {
        const size_t at = s.find(llm::kImageToken, pos);
        const std::string chunk = s.substr(pos, at == std::string::npos ? std::string::npos : at - pos);
        if (!chunk.empty()) {
          auto ids = tok_.encode(chunk, true);
          out.back().ids.insert(out.back().ids.end(), ids.begin(), ids.end());
        }
        if (at == std::string::npos) break;
        out.push_back(Piece{{}, image++});
        out.push_back(Piece{});
        pos = at + std::string(llm::kImageToken).size();
      }
    };
    size_t pos = 0;
    while (true) {
      const size_t open = r.find(kSentinelOpen, pos);
      if (open == std::string::npos) {
        add_template(r.substr(pos));
        break;
      }
      add_template(r.substr(pos, open - pos));
      const size_t close = r.find(kSentinelClose, open);
      MVL_ASSERT(close != std::string::npos);
      const size_t k = std::stoul(r.substr(open + 3, close - open - 3));
      MVL_ASSERT(k < texts.size());
      auto ids = tok_.encode(texts[k], false);  // user text: specials stay plain text
      out.back().ids.insert(out.back().ids.end(), ids.begin(), ids.end());
      pos = close + 3;
    }
    MVL_CHECK(image == m.num_images(), internal, "the chat template emitted {} image slots for {} images",
              image, m.num_images());
    return out;
  }
  std::vector<int32_t> generation_prompt() const override { return gen_; }
  std::vector<int32_t> assistant_close() const override { return close_; }
  std::vector<int32_t> encode_text(const std::string& text) const override { return tok_.encode(text, false); }
  std::vector<int32_t> encode_raw(const std::string& text) const override { return tok_.encode(text, true); }
  int64_t vocab_size() const override { return tok_.vocab_size(); }
  std::string decode(const std::vector<int32_t>& ids) const override { return tok_.decode(ids, true); }
  bool is_special(int32_t id) const override { return tok_.is_special(id); }
  int32_t eos_id() const override { return eos_; }
  size_t max_bytes_per_token() const override { return max_token_bytes_; }

  class DetokStream : public Stream {
   public:
    explicit DetokStream(const llm::Tokenizer& t) : d_(t, true) {}
    std::string push(int32_t id) override { return d_.push(id); }
    std::string flush() override { return d_.flush(); }

   private:
    llm::IncrementalDetokenizer d_;
  };
  std::unique_ptr<Stream> stream() const override { return std::make_unique<DetokStream>(tok_); }

 private:
  llm::Tokenizer tok_;
  size_t max_token_bytes_ = 0;
  int32_t eos_ = 0;
  std::string gen_text_;
  std::vector<int32_t> gen_, close_;
};

}  // namespace

std::unique_ptr<PromptCodec> make_prompt_codec(llm::Tokenizer tok, int64_t image_token) {
  return std::make_unique<TokenizerCodec>(std::move(tok), image_token);
}

}  // namespace mvl::engine
