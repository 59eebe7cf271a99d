// The MiniMax-VL-01 chat template (spec §7.2-7.3) rendered natively: role markers, typed
// content (text / image -> literal "<image>"), function results, tool declarations after the
// messages, and the generation prompt. No BOS or <begin_of_document> is ever added.
#pragma once

#include <string>
#include <vector>

namespace mvl::llm {

struct ContentItem {
  enum class Kind { text, image };
  Kind kind = Kind::text;
  std::string text;  // text items only
};

struct ChatMessage {
  std::string role;                  // system | user | assistant | function
  std::vector<ContentItem> content;  // in order; function messages use content[0].text
  std::string name;                  // function messages: the function's name
};

// Exact literal markers of the template.
inline constexpr const char* kBeginOfSentence = "<beginning_of_sentence>";
inline constexpr const char* kEndOfSentence = "<end_of_sentence>";
inline constexpr const char* kImageToken = "<image>";

// One text item holding `text` (the template iterates items; a plain string must be
// normalised to this before rendering, spec §7.3 rule 6).
std::vector<ContentItem> text_content(std::string text);
ChatMessage make_message(std::string role, std::string text);

// Renders the prompt. `tool_json` holds one JSON-serialised tool per entry; each becomes a
// tool-declaration block after all messages. Throws Error{invalid_argument} for an unknown
// role or a function message without content.
std::string render_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                        const std::vector<std::string>& tool_json = {});

}  // namespace mvl::llm
