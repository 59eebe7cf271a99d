// The ImGui drawing of the desktop chat (see chat_view.h). Keys: Enter sends, Shift+Enter
// (or Ctrl+Enter) inserts a newline, Esc stops the answer, Ctrl+N starts a new chat,
// Ctrl+R regenerates the last answer.
#include "app/desktop/chat_view.h"

#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "app/desktop/long_text.h"
#include "app/desktop/tile_map_view.h"
#ifdef MVL_HAVE_MD4C
#include "app/desktop/markdown_view.h"
#endif
#include "app/engine/core/build_info.h"

namespace mvl::desktop {
namespace {

constexpr float kTileMapHeight = 210.0f;  // an attachment's tile map in the composer
const ImVec4 kErrorColor(1.0f, 0.45f, 0.40f, 1.0f);
const ImVec4 kUserColor(0.45f, 0.75f, 1.0f, 1.0f);
const ImVec4 kAssistantColor(0.55f, 0.90f, 0.55f, 1.0f);

// Wrapped text of any length: drawn in pieces (long_text.h), so a long answer never
// overflows ImGui's 16-bit vertex indices.
void wrapped(const std::string& s) {
  draw_wrapped_long_text(s);
}

void wrapped_colored(const ImVec4& color, const std::string& s) {
  ImGui::PushStyleColor(ImGuiCol_Text, color);
  wrapped(s);
  ImGui::PopStyleColor();
}

// CallbackAlways of the message box: after it (re)takes focus, put the cursor at the end
// (ImGui starts a freshly focused box at the beginning of its text).
int cursor_to_end(ImGuiInputTextCallbackData* d) {
  bool* pending = static_cast<bool*>(d->UserData);
  if (*pending) {
    d->CursorPos = d->SelectionStart = d->SelectionEnd = d->BufTextLen;
    *pending = false;
  }
  return 0;
}

std::string file_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

ChatView::ChatView(ChatController& c, TextureCache& textures, std::string model_dir, std::string device)
    : c_(c), textures_(textures), model_dir_(std::move(model_dir)), device_(std::move(device)) {}

void ChatView::load() {
  if (model_dir_.find_first_not_of(" \t") == std::string::npos) {
    local_error_ = "type a model folder first (one with config.json and *.safetensors)";
    return;
  }
  engine::EngineOptions o;
  o.model_dir = model_dir_;
  o.tp = tp_;
  o.resize_compat =
      resize_compat_ == 1 ? vision::PillowPassOrder::pillow13 : vision::PillowPassOrder::classic;
  try {
    parse_device(device_, o);
  } catch (const std::exception& e) {
    local_error_ = e.what();
    return;
  }
  local_error_.clear();
  c_.load_model(o);
}

void ChatView::handle_shortcuts() {
  const ImGuiIO& io = ImGui::GetIO();
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape), false) && c_.generating()) c_.stop();
  // The GLFW backend indexes KeysDown by GLFW key codes, which are ASCII for letters.
  if (io.KeyCtrl && !io.KeyShift && ImGui::IsKeyPressed('N', false)) {
    c_.new_chat();
    textures_.clear();
    focus_input_ = true;
  }
  if (io.KeyCtrl && !io.KeyShift && ImGui::IsKeyPressed('R', false) && c_.can_regenerate()) c_.regenerate();
}

void ChatView::draw() {
  handle_shortcuts();
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(vp->WorkPos);
  ImGui::SetNextWindowSize(vp->WorkSize);
  const ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                 ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus;
  ImGui::Begin("MiniMax-VL", nullptr, flags);
  const float side = std::clamp(vp->WorkSize.x * 0.28f, 260.0f, 420.0f);
  ImGui::BeginChild("side", ImVec2(side, 0), true);
  draw_side_panel();
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginGroup();
  const float line = ImGui::GetFrameHeightWithSpacing();
  float composer = line * 4.6f;  // path field + a 3.5-line message box + spacing
  if (!c_.attachments().empty()) composer += kTileMapHeight + line * 2.2f + ImGui::GetStyle().ItemSpacing.y;
  if (!c_.error().empty()) composer += line * 2.0f;
  ImGui::BeginChild("messages", ImVec2(0, -composer), true);
  draw_messages();
  ImGui::EndChild();
  draw_composer();
  ImGui::EndGroup();
  ImGui::End();
}

void ChatView::draw_side_panel() {
  draw_model_section();
  ImGui::Spacing();
  draw_sampling_section();
  ImGui::Spacing();
  ImGui::Separator();
  if (ImGui::Button("New chat")) {
    c_.new_chat();
    textures_.clear();
    focus_input_ = true;
  }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Start a new conversation; this one stays in the list (Ctrl+N)");
  ImGui::Spacing();
  draw_conversations();
  ImGui::Spacing();
  ImGui::TextDisabled("Enter send, Shift+Enter newline");
  ImGui::TextDisabled("Esc stop, Ctrl+R regenerate, Ctrl+N new chat");
  ImGui::TextDisabled("Drop image files on the window to attach");
  ImGui::Spacing();
  ImGui::Separator();
  // About: the same facts as `minimax-vl --version`.
  ImGui::PushTextWrapPos(0.0f);
  ImGui::TextDisabled("About: %s", about_.c_str());
  ImGui::PopTextWrapPos();
}

void ChatView::draw_model_section() {
  ImGui::TextUnformatted("Model");
  ImGui::Separator();
  const ModelStatus& m = c_.model_status();
  const bool loading = m.state == ModelStatus::State::loading;
  ImGui::SetNextItemWidth(-1);
  const bool enter = ImGui::InputTextWithHint("##model_dir", "model folder (config.json, *.safetensors)",
                                              &model_dir_, ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x * 0.5f);
  ImGui::InputTextWithHint("##device", "cpu | cuda | cuda:N", &device_);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Where the model runs: cpu, cuda or cuda:N");
  ImGui::SameLine();
  ImGui::BeginDisabled(loading);
  if (ImGui::Button(c_.model_ready() ? "Reload" : "Load", ImVec2(-1, 0)) || (enter && !loading)) load();
  ImGui::EndDisabled();
  const char* const resize_items[] = {"classic resize (Pillow <= 12)", "Pillow 13 resize"};
  ImGui::SetNextItemWidth(-1);
  ImGui::Combo("##resize_compat", &resize_compat_, resize_items, 2);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip(
        "Whose image resize to reproduce (applies on the next Load). Classic is what MiniMax-VL-01 "
        "was trained "
        "with; Pillow 13 resizes tall images vertically first and gives them slightly different "
        "pixels.");
  if (!local_error_.empty()) wrapped_colored(kErrorColor, local_error_);
  switch (m.state) {
    case ModelStatus::State::none:
      ImGui::TextDisabled("no model loaded");
      break;
    case ModelStatus::State::loading:
      ImGui::ProgressBar(static_cast<float>(m.fraction), ImVec2(-1, 0), m.stage.c_str());
      if (!m.bytes.empty()) ImGui::TextDisabled("%s", m.bytes.c_str());
      break;
    case ModelStatus::State::failed:
      wrapped_colored(kErrorColor, "load failed: " + m.error);
      break;
    case ModelStatus::State::ready: {
      wrapped(m.summary);
      const int64_t max_ctx = c_.max_context();
      if (max_ctx > 0) {
        const std::string label = fmt::format("context {} / {}", c_.context_tokens(), max_ctx);
        ImGui::ProgressBar(static_cast<float>(c_.context_tokens()) / static_cast<float>(max_ctx), ImVec2(-1, 0),
                           label.c_str());
      }
      break;
    }
  }
}

void ChatView::draw_sampling_section() {
  ImGui::TextUnformatted("Sampling");
  ImGui::Separator();
  ChatSettings& s = c_.settings();
  ImGui::SetNextItemWidth(-90);
  ImGui::SliderFloat("temperature", &s.temperature, 0.0f, 2.0f, s.temperature <= 0.0f ? "greedy" : "%.2f");
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("0 = greedy decoding (the official MiniMax-VL-01 setting)");
  ImGui::SetNextItemWidth(-90);
  ImGui::SliderFloat("top-p", &s.top_p, 0.05f, 1.0f, "%.2f");
  ImGui::SetNextItemWidth(-90);
  int max_tokens = static_cast<int>(std::min<int64_t>(s.max_tokens, 1 << 30));
  if (ImGui::InputInt("max tokens", &max_tokens, 64, 512)) s.max_tokens = std::max(1, max_tokens);
  ImGui::SetNextItemWidth(-90);
  ImGui::InputScalar("seed", ImGuiDataType_U64, &s.seed);
  ImGui::TextUnformatted("System prompt (next new chat)");
  ImGui::InputTextMultiline("##system", &s.system_prompt, ImVec2(-1, ImGui::GetTextLineHeight() * 4));
}

// Saved conversations, newest first: click to reopen, right-click to rename or delete.
void ChatView::draw_conversations() {
  ImGui::TextUnformatted("Conversations");
  ImGui::Separator();
  const float footer = ImGui::GetTextLineHeightWithSpacing() * 7.0f;
  const float h = std::max(ImGui::GetTextLineHeightWithSpacing() * 3.0f, ImGui::GetContentRegionAvail().y - footer);
  ImGui::BeginChild("conversations", ImVec2(0, h), false);
  const auto& list = c_.conversations();
  if (list.empty()) ImGui::TextDisabled("none saved yet");
  std::string open_id;
  for (const ConversationInfo& info : list) {
    ImGui::PushID(info.id.c_str());
    if (info.id == rename_id_) {
      if (focus_rename_) {
        ImGui::SetKeyboardFocusHere();
        focus_rename_ = false;
      }
      ImGui::SetNextItemWidth(-1);
      const bool done = ImGui::InputText("##rename", &rename_text_,
                                         ImGuiInputTextFlags_EnterReturnsTrue | ImGuiInputTextFlags_AutoSelectAll);
      if (done) {
        if (rename_text_.find_first_not_of(" \t") != std::string::npos) c_.rename_conversation(info.id, rename_text_);
        rename_id_.clear();
      } else if (ImGui::IsItemDeactivated()) {
        rename_id_.clear();  // clicked elsewhere or Esc: no change
      }
    } else {
      const bool current = info.id == c_.conversation_id();
      const std::string label = info.title.empty() ? info.id : info.title;
      if (ImGui::Selectable(label.c_str(), current) && !current) open_id = info.id;
      if (ImGui::IsItemHovered())
        ImGui::SetTooltip("%s\n%zu messages; right-click to rename or delete", label.c_str(), info.messages);
      if (ImGui::BeginPopupContextItem("menu")) {
        if (ImGui::MenuItem("Rename")) {
          rename_id_ = info.id;
          rename_text_ = label;
          focus_rename_ = true;
        }
        if (ImGui::MenuItem("Delete")) delete_id_ = info.id;
        ImGui::EndPopup();
      }
    }
    ImGui::PopID();
  }
  ImGui::EndChild();
  if (!open_id.empty() && c_.open_conversation(open_id)) {
    textures_.clear();
    focus_input_ = true;
  }
  if (!delete_id_.empty()) ImGui::OpenPopup("Delete conversation?");
  if (ImGui::BeginPopupModal("Delete conversation?", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
    ImGui::TextUnformatted("The conversation file is deleted; this cannot be undone.");
    if (ImGui::Button("Delete")) {
      c_.delete_conversation(delete_id_);
      delete_id_.clear();
      ImGui::CloseCurrentPopup();
    }
    ImGui::SameLine();
    if (ImGui::Button("Cancel") || ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape), false)) {
      delete_id_.clear();
      ImGui::CloseCurrentPopup();
    }
    ImGui::EndPopup();
  }
}

void ChatView::draw_image(const std::string& path, float side) {
  const Thumbnail* t = c_.thumbnail(path);
  const unsigned tex = textures_.texture(path, t);
  if (tex != 0) {
    const float scale = side / static_cast<float>(std::max(t->width, t->height));
    ImGui::Image(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(tex)),
                 ImVec2(t->width * scale, t->height * scale));
  } else {
    ImGui::Button(("[image] " + file_name(path)).c_str());
  }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", path.c_str());
}

void ChatView::draw_messages() {
  const auto& entries = c_.entries();
  if (entries.empty()) {
    ImGui::TextDisabled(c_.model_ready() ? "Type a message below; attach images with the path field or by dropping files."
                                         : "Load a model in the panel on the left to start.");
  }
  // Follow the answer only when the user has not scrolled up to read.
  const bool at_bottom = ImGui::GetScrollY() >= ImGui::GetScrollMaxY() - 4.0f;
  for (size_t i = 0; i < entries.size(); ++i) {
    const ChatEntry& e = entries[i];
    ImGui::PushID(static_cast<int>(i));
    const bool user = e.role == engine::Role::user;
    ImGui::TextColored(user ? kUserColor : kAssistantColor, "%s", user ? "You" : "MiniMax-VL");
    if (!e.streaming && !e.text.empty()) {
      ImGui::SameLine();
      if (ImGui::SmallButton("copy")) ImGui::SetClipboardText(e.text.c_str());
    }
    for (size_t k = 0; k < e.images.size(); ++k) {
      if (k > 0) ImGui::SameLine();
      draw_image(e.images[k], static_cast<float>(ChatController::kThumbnailSide));
    }
    if (e.streaming && e.text.empty()) {
      ImGui::TextDisabled("thinking...");
    } else if (!user) {
      draw_answer(i, e);
    } else {
      wrapped(e.text);
    }
    if (e.streaming && e.live_tokens > 0) {
      ImGui::TextDisabled("%lld tokens, %.1f tok/s", static_cast<long long>(e.live_tokens), e.live_tokens_per_s);
    } else if (e.stats) {
      ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyle().Colors[ImGuiCol_TextDisabled]);
      wrapped(stats_line(*e.stats));
      ImGui::PopStyleColor();
    }
    ImGui::Separator();
    ImGui::PopID();
  }
  const size_t text_size = entries.empty() ? 0 : entries.back().text.size();
  const bool grew = entries.size() != last_entries_ || text_size != last_text_size_;
  if (grew && (at_bottom || entries.size() != last_entries_)) ImGui::SetScrollHereY(1.0f);
  last_entries_ = entries.size();
  last_text_size_ = text_size;
}

// An answer as markdown (md4c builds) or as plain text. The parse is cached per entry and
// redone only when the text changed (every token while streaming: md4c takes well under a
// millisecond for a long answer).
void ChatView::draw_answer(size_t index, const ChatEntry& e) {
#ifdef MVL_HAVE_MD4C
  if (markdown_) {
    if (parsed_.size() <= index) parsed_.resize(index + 1);
    ParsedAnswer& p = parsed_[index];
    const size_t h = std::hash<std::string_view>{}(e.text) ^ (e.text.size() * 0x9E3779B97F4A7C15ull);
    if (p.hash != h || p.blocks.empty()) {
      p.blocks = parse_markdown(e.text);
      p.hash = h;
    }
    MdFonts fonts;
    fonts.mono = mono_font_;
    draw_markdown(p.blocks, fonts);
    return;
  }
#endif
  (void)index;
  wrapped(e.streaming ? e.text + "_" : e.text);
}

// Under the tile maps: the attached images' tokens against the context left, and the
// per-image budget slider (0 = the released grid).
void ChatView::draw_token_budget(int64_t image_tokens, bool all_known) {
  const int64_t left = c_.max_context() - c_.context_tokens();
  if (all_known) {
    const bool over = image_tokens > left;
    ImGui::PushStyleColor(ImGuiCol_Text, over ? kErrorColor : ImGui::GetStyle().Colors[ImGuiCol_TextDisabled]);
    ImGui::Text("images: %lld tokens of the %lld context positions left%s", static_cast<long long>(image_tokens),
                static_cast<long long>(left), over ? " (too many: lower the budget or remove an image)" : "");
    ImGui::PopStyleColor();
    ImGui::SameLine();
  }
  int budget = static_cast<int>(std::min<int64_t>(c_.max_image_tokens(), 1 << 20));
  ImGui::SetNextItemWidth(std::max(120.0f, ImGui::GetContentRegionAvail().x - 130.0f));
  if (ImGui::SliderInt("max image tokens", &budget, 0, 10000, budget == 0 ? "released grid" : "%d per image"))
    c_.set_max_image_tokens(budget);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip(
        "A per-image token budget: a page whose grid needs more gets the best smaller grid that fits.\n"
        "0 keeps the released preprocessing; any budget departs from it (docs/tile-map.md).");
}

void ChatView::draw_composer() {
  const auto& atts = c_.attachments();
  int64_t image_tokens = 0;
  bool all_known = true;
  for (size_t i = 0; i < atts.size(); ++i) {
    ImGui::PushID(static_cast<int>(1000 + i));
    if (i > 0) ImGui::SameLine(0, 16.0f);
    ImGui::BeginGroup();
    if (const std::optional<engine::TileMap> m = c_.tile_map(i)) {
      draw_tile_map(*m, textures_.texture(atts[i].path, c_.thumbnail(atts[i].path)), kTileMapHeight);
      image_tokens += m->image_tokens;
    } else {
      draw_image(atts[i].path, 48.0f);
      all_known = false;
    }
    if (ImGui::SmallButton("remove")) c_.remove_attachment(i);
    ImGui::EndGroup();
    ImGui::PopID();
  }
  if (!atts.empty()) draw_token_budget(image_tokens, all_known);
  if (!c_.error().empty()) {
    if (ImGui::SmallButton("x##dismiss")) c_.dismiss_error();
    ImGui::SameLine();
    wrapped_colored(kErrorColor, c_.error());
  }
  ImGui::SetNextItemWidth(-220);
  if (ImGui::InputTextWithHint("##image_path", "image path (or drop image files on the window)", &image_path_,
                               ImGuiInputTextFlags_EnterReturnsTrue)) {
    if (c_.attach_image(image_path_)) image_path_.clear();
  }
  ImGui::SameLine();
  if (ImGui::Button("Add image", ImVec2(104, 0)) && c_.attach_image(image_path_)) image_path_.clear();
  ImGui::SameLine();
  if (ImGui::Button("Browse...", ImVec2(-1, 0))) picker_.open();
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Pick image files from a folder");
  if (const std::optional<std::string> picked = picker_.draw()) c_.attach_image(*picked);

  // Enter sends; Shift+Enter and Ctrl+Enter insert a newline. ImGui 1.86 only knows the Ctrl
  // variant (CtrlEnterForNewLine), so Shift+Enter is presented to it as Ctrl+Enter.
  // io.KeyMods must agree with io.KeyCtrl (InputTextEx asserts it), so both are forced and restored.
  ImGuiIO& io = ImGui::GetIO();
  const bool saved_ctrl = io.KeyCtrl;
  const ImGuiKeyModFlags saved_mods = io.KeyMods;
  if (io.KeyShift && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Enter))) {
    io.KeyCtrl = true;
    io.KeyMods |= ImGuiKeyModFlags_Ctrl;
  }
  // While the box is active, ImGui 1.86 writes its own copy of the text back every frame, so
  // a draft changed by the controller (sent, given back after a failure, new chat) would be
  // overwritten. Such a change gives the box a new ID: a fresh widget that reads the draft.
  if (c_.draft() != seen_draft_) {
    ++draft_generation_;
    focus_input_ = true;
  }
  if (focus_input_) {
    ImGui::SetKeyboardFocusHere();
    focus_input_ = false;
    cursor_to_end_ = true;
  }
  ImGui::PushID(draft_generation_);
  // Esc means "stop" here; ImGui 1.86 would also revert the box to its text at focus time
  // (no flag turns that off before 1.89), so the draft is put back and the box refocused.
  const bool esc = ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape), false);
  const std::string before_esc = esc ? c_.draft() : std::string();
  const float buttons = 110.0f;
  const bool enter = ImGui::InputTextMultiline(
      "##draft", &c_.draft(), ImVec2(-buttons, ImGui::GetTextLineHeight() * 3.5f + ImGui::GetStyle().FramePadding.y * 2),
      ImGuiInputTextFlags_CtrlEnterForNewLine | ImGuiInputTextFlags_EnterReturnsTrue | ImGuiInputTextFlags_CallbackAlways,
      cursor_to_end, &cursor_to_end_);
  ImGui::PopID();
  io.KeyCtrl = saved_ctrl;
  io.KeyMods = saved_mods;
  if (esc && c_.draft() != before_esc) {
    c_.draft() = before_esc;
    focus_input_ = true;
  }
  if (enter) {
    if (c_.can_send()) c_.send();
    focus_input_ = true;  // Enter deactivates the field; keep typing in it
  }
  seen_draft_ = c_.draft();
  ImGui::SameLine();
  ImGui::BeginGroup();
  if (c_.generating()) {
    if (ImGui::Button("Stop", ImVec2(-1, 0))) c_.stop();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Stop the answer (Esc)");
  } else {
    ImGui::BeginDisabled(!c_.can_send());
    if (ImGui::Button("Send", ImVec2(-1, 0))) {
      c_.send();
      focus_input_ = true;
    }
    ImGui::EndDisabled();
  }
  ImGui::BeginDisabled(!c_.can_regenerate());
  if (ImGui::Button("Regenerate", ImVec2(-1, 0))) c_.regenerate();
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("Answer the last message again (Ctrl+R)");
  ImGui::EndGroup();
}

}  // namespace mvl::desktop
