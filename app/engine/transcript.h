// Saving and loading a conversation (chat /save, /load; the desktop app's history) as JSON:
//   {"format": "minimax-vl-transcript/1",
//    "messages": [{"role": "user", "content": [{"type": "image", "path": "a.png"},
//                                              {"type": "text", "text": "..."}]},
//                 {"role": "assistant", "content": [...], "tokens": [ids...]}]}
// Assistant token ids are kept so a loaded conversation feeds exactly the same positions.
#pragma once

#include <string>
#include <vector>

#include "app/engine/chat_types.h"
#include "kernels/core/json.h"

namespace mvl::engine {

json::Json transcript_to_json(const std::vector<Message>& messages);
// Throws Error{bad_format} naming `what` and the offending message.
std::vector<Message> transcript_from_json(const json::Json& j, const std::string& what);

void save_transcript(const std::string& path, const std::vector<Message>& messages);  // Error{io}
std::vector<Message> load_transcript(const std::string& path);

}  // namespace mvl::engine
