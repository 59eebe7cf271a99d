// MiniMax-VL-01 chat template rendering (spec §7.2-7.3).
#include "llm/chat/chat_template.h"

#include <fmt/format.h>

#include "kernels/core/error.h"

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

std::string render_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                        const std::vector<std::string>& tool_json) {
  std::string out;
  const std::string bos = kBeginOfSentence;
  const std::string eos = std::string(kEndOfSentence) + "\n";
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "function") {
      MVL_CHECK(!m.content.empty() && m.content[0].kind == ContentItem::Kind::text, invalid_argument,
                "message {}: a function message needs its response (JSON) as the first text item", i);
      out += bos + "system function_response=functions\n";
      out += "{\"name\": \"" + m.name + "\", \"response\": " + m.content[0].text + "}";
      out += eos;
      continue;
    }
    if (m.role == "system") out += bos + "system ai_setting=assistant\n";
    else if (m.role == "user") out += bos + "user name=user\n";
    else if (m.role == "assistant") out += bos + "ai name=assistant\n";
    else
      throw_error(ErrorCategory::invalid_argument,
                  fmt::format("message {}: unknown role '{}' (expected system, user, assistant or function)", i, m.role));
    for (const ContentItem& c : m.content) out += c.kind == ContentItem::Kind::image ? kImageToken : c.text;
    out += eos;
  }
  for (const std::string& tool : tool_json) out += bos + "system function_setting=functions\n" + tool + eos;
  if (add_generation_prompt) out += bos + "ai name=assistant\n";
  return out;
}

}  // namespace mvl::llm
