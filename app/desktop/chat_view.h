// ChatView: the Dear ImGui drawing of a ChatController, one call per frame on the UI
// thread. It only reads the controller's state and forwards clicks and keys to its
// actions; all behaviour lives in the controller (tested without a display).
// Layout: a side panel (model, sampling, chat actions) and the chat (messages, composer).
#pragma once

#include <string>
#include <vector>

#include "app/desktop/chat_controller.h"
#include "app/desktop/file_picker.h"
#include "app/desktop/markdown.h"
#include "app/engine/core/build_info.h"
#include "app/desktop/texture_cache.h"

struct ImFont;

namespace mvl::desktop {

class ChatView {
 public:
  ChatView(ChatController& c, TextureCache& textures, std::string model_dir, std::string device);
  void draw();  // the whole window's UI for this frame
  // The Load button: loads the folder field's model; an empty field is an inline error.
  void load();
  const std::string& local_error() const { return local_error_; }
  // Code blocks' font (a monospace TTF); null keeps the UI font.
  void set_mono_font(ImFont* f) { mono_font_ = f; }
  // Answers render as markdown (md4c builds); false shows them as plain text.
  void set_markdown(bool on) { markdown_ = on; }
  void set_tp(int ranks) { tp_ = ranks; }  // --tp: the text model over this many ranks

 private:
  void handle_shortcuts();
  void draw_side_panel();
  void draw_model_section();
  void draw_sampling_section();
  void draw_conversations();
  void draw_messages();
  void draw_composer();
  void draw_image(const std::string& path, float side);
  void draw_answer(size_t index, const ChatEntry& e);
  void draw_token_budget(int64_t image_tokens, bool all_known);

  ChatController& c_;
  TextureCache& textures_;
  std::string model_dir_;
  std::string device_;
  int tp_ = 1;
  int resize_compat_ = 0;  // 0 = classic (Pillow <= 12, the default), 1 = pillow13; on next load
  std::string image_path_;
  std::string about_ = engine::version_line();  // the side panel's About line
  std::string local_error_;      // errors of the view's own parsing (device spelling)
  size_t last_entries_ = 0;      // to scroll down when the list grows
  size_t last_text_size_ = 0;    // ... or the streaming answer grows
  bool focus_input_ = true;
  bool cursor_to_end_ = false;   // the box just took focus: its cursor goes to the end
  std::string seen_draft_;       // the draft as the message box last left it
  int draft_generation_ = 0;     // bumped when the draft changed outside the box (its ImGui ID)
  ImFont* mono_font_ = nullptr;
  FilePicker picker_;
  std::string rename_id_, rename_text_;  // the conversation being renamed in place
  std::string delete_id_;                // the conversation whose deletion awaits a yes
  bool focus_rename_ = false;
  bool markdown_ = true;
  struct ParsedAnswer {          // an answer's markdown, parsed again only when its text changes
    size_t hash = 0;
    std::vector<MdBlock> blocks;
  };
  std::vector<ParsedAnswer> parsed_;  // by entry index
};

}  // namespace mvl::desktop
