// Saving and loading a conversation (chat /save, /load; the desktop app's history) as JSON:
//   {"format": "minimax-vl-transcript/1",
//    "messages": [{"role": "user", "content": [{"type": "image", "path": "a.png"},
//                                              {"type": "text", "text": "..."}]},
//                 {"role": "assistant", "content": [...], "tokens": [ids...]}]}
// Assistant token ids are kept so a loaded conversation feeds exactly the same positions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/engine/core/chat_types.h"
#include "kernels/core/json.h"

namespace mvl::engine {

json::Json transcript_to_json(const std::vector<Message>& messages);
// Throws Error{bad_format} naming `what` and the offending message.
std::vector<Message> transcript_from_json(const json::Json& j, const std::string& what);

// Writes image paths as absolute paths. Refuses (Error{invalid_argument}) a path that exists
// and is not a regular file (symlink, device, FIFO, folder); otherwise writes a temporary
// file beside it and renames it over. Error{io} when the folder is not writable.
void save_transcript(const std::string& path, const std::vector<Message>& messages);
// Relative image paths resolve against the current folder, else the transcript's folder.
std::vector<Message> load_transcript(const std::string& path);
// Throws Error{bad_format} naming `what` and the message for a token id outside
// [0, vocab_size): such a transcript would fail on every later turn.
void check_transcript_tokens(const std::vector<Message>& messages, int64_t vocab_size,
                             const std::string& what);

}  // namespace mvl::engine
