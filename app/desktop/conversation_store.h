// Conversations of the desktop chat on disk, one JSON file each under the XDG data dir
// ($XDG_DATA_HOME/minimax-vl/conversations, else ~/.local/share/minimax-vl/conversations):
//   {"format": "minimax-vl-conversation/1", "title": "...", "updated": <unix seconds>,
//    "transcript": <engine transcript JSON, transcript.h>}
// Every save writes a temporary file beside the target and renames it over, so a crash or
// kill leaves either the previous or the new version, never half a file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/engine/core/chat_types.h"

namespace mvl::desktop {

struct ConversationInfo {
  std::string id;  // file name without ".json"
  std::string title;
  int64_t updated = 0;  // unix seconds
  size_t messages = 0;  // user + assistant
};

class ConversationStore {
 public:
  explicit ConversationStore(std::string dir) : dir_(std::move(dir)) {}
  // The XDG location; "" when neither XDG_DATA_HOME nor HOME is set.
  static std::string default_dir();
  const std::string& dir() const { return dir_; }

  // Newest first. Files that do not parse are skipped (never deleted).
  std::vector<ConversationInfo> list() const;
  // A fresh id: the local time to the second plus a suffix when taken ("20261206-071930").
  std::string new_id() const;
  // Creates the folder when missing. Image paths are stored absolute. Throws Error{io}.
  void save(const std::string& id, const std::string& title,
            const std::vector<engine::Message>& messages) const;
  // Throws Error{not_found|bad_format}.
  std::vector<engine::Message> load(const std::string& id, std::string* title = nullptr) const;
  void rename(const std::string& id, const std::string& title) const;
  void remove(const std::string& id) const;

 private:
  std::string path(const std::string& id) const;
  std::string dir_;
};

// A title from the first user message: its text's first line, at most `max_chars`
// characters (UTF-8 safe), else "Image chat"/"New chat".
std::string conversation_title(const std::vector<engine::Message>& messages, size_t max_chars = 60);

}  // namespace mvl::desktop
