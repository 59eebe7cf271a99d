// MiniMax-VL-01 chat template rendering (spec §7.2-7.3).
#include "llm/chat/chat_template.h"

#include <fmt/format.h>

#include "kernels/core/error.h"
#include "llm/tokenizer/tokenizer.h"

namespace mvl::llm {

std::vector<ContentItem> text_content(std::string text) {
  std::vector<ContentItem> c(1);
  c[0].kind = ContentItem::Kind::text;
  c[0].text = std::move(text);
  return c;
}

ChatMessage make_message(std::string role, std::string text) {
  ChatMessage m;
  m.role = std::move(role);
  m.content = text_content(std::move(text));
  return m;
}

std::vector<PromptPiece> render_chat_pieces(const std::vector<ChatMessage>& messages,
                                            bool add_generation_prompt,
                                            const std::vector<std::string>& tool_json) {
  std::vector<PromptPiece> out;
  auto marker = [&](std::string t) {
    // Adjacent template text is one piece, as the template writes it in one go.
    if (!out.empty() && out.back().kind == PromptPiece::Kind::marker)
      out.back().text += t;
    else
      out.push_back({PromptPiece::Kind::marker, std::move(t)});
  };
  const std::string bos = kBeginOfSentence;
  const std::string eos = std::string(kEndOfSentence) + "\n";
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "function") {
      MVL_CHECK(
          !m.content.empty() && m.content[0].kind == ContentItem::Kind::text, invalid_argument,
          "message {}: a function message needs its response (JSON) as the first text item", i);
      marker(bos + "system function_response=functions\n");
      out.push_back({PromptPiece::Kind::text,
                     "{\"name\": \"" + m.name + "\", \"response\": " + m.content[0].text + "}"});
      marker(eos);
      continue;
    }
    if (m.role == "system")
      marker(bos + "system ai_setting=assistant\n");
    else if (m.role == "user")
      marker(bos + "user name=user\n");
    else if (m.role == "assistant")
      marker(bos + "ai name=assistant\n");
    else
      throw_error(
          ErrorCategory::invalid_argument,
          fmt::format(
              "message {}: unknown role '{}' (expected system, user, assistant or function)", i,
              m.role));
    for (const ContentItem& c : m.content) {
      if (c.kind == ContentItem::Kind::image)
        out.push_back({PromptPiece::Kind::image, kImageToken});
      else if (!c.text.empty())
        out.push_back({PromptPiece::Kind::text, c.text});
    }
    marker(eos);
  }
  for (const std::string& tool : tool_json) {
    marker(bos + "system function_setting=functions\n");
    out.push_back({PromptPiece::Kind::text, tool});
    marker(eos);
  }
  if (add_generation_prompt) marker(bos + "ai name=assistant\n");
  return out;
}

std::string render_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                        const std::vector<std::string>& tool_json) {
  std::string out;
  for (const PromptPiece& p : render_chat_pieces(messages, add_generation_prompt, tool_json))
    out += p.text;
  return out;
}

std::vector<int32_t> encode_chat(const Tokenizer& tok, const std::vector<PromptPiece>& pieces,
                                 bool protect_user_text) {
  if (!protect_user_text) {
    std::string all;
    for (const PromptPiece& p : pieces) all += p.text;
    return tok.encode(all, true);
  }
  const auto image_id = tok.token_to_id(kImageToken);
  std::vector<int32_t> ids;
  for (const PromptPiece& p : pieces) {
    if (p.kind == PromptPiece::Kind::image) {
      MVL_CHECK(image_id.has_value(), not_found,
                "the tokenizer has no '{}' token; is it a MiniMax-VL tokenizer?", kImageToken);
      ids.push_back(*image_id);
      continue;
    }
    const auto part = tok.encode(p.text, p.kind == PromptPiece::Kind::marker);
    ids.insert(ids.end(), part.begin(), part.end());
  }
  return ids;
}

}  // namespace mvl::llm
