// The MiniMax-VL-01 chat template (spec §7.2-7.3) rendered natively: role markers, typed
// content (text / image -> literal "<image>"), function results, tool declarations after the
// messages, and the generation prompt. No BOS or <begin_of_document> is ever added.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mvl::llm {

class Tokenizer;

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

// The same prompt as ordered pieces, so callers can tell template text from user content.
// Concatenating the pieces' text gives render_chat() exactly (an image piece's text is
// "<image>").
struct PromptPiece {
  enum class Kind { marker, text, image };
  Kind kind = Kind::marker;
  std::string text;
};
std::vector<PromptPiece> render_chat_pieces(const std::vector<ChatMessage>& messages,
                                            bool add_generation_prompt,
                                            const std::vector<std::string>& tool_json = {});

// Token ids of a rendered prompt (no BOS added).
//  protect_user_text=false: tokenizes the whole rendered string with special tokens parsed,
//    exactly what HF apply_chat_template(tokenize=True) gives (a "<image>" typed by the user
//    becomes an image token).
//  protect_user_text=true: markers are tokenized with special tokens parsed, text items with
//    special tokens as plain text, image items as the <image> id. Safer for user input; the ids
//    can differ from HF where the pre-tokenizer would have merged across a piece boundary
//    (e.g. a text item starting with a newline).
std::vector<int32_t> encode_chat(const Tokenizer& tok, const std::vector<PromptPiece>& pieces,
                                 bool protect_user_text);

}  // namespace mvl::llm
