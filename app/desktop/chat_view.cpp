// The ImGui drawing of the desktop chat (see chat_view.h). Keys: Enter sends, Shift+Enter
// (or Ctrl+Enter) inserts a newline, Esc stops the answer, Ctrl+N starts a new chat,
// Ctrl+R regenerates the last answer.
#include "app/desktop/chat_view.h"

#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "app/desktop/long_text.h"
#include "app/engine/core/build_info.h"

namespace mvl::desktop {
namespace {

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
  if (!c_.attachments().empty()) composer += 56.0f + ImGui::GetStyle().ItemSpacing.y;
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
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Forget the conversation (Ctrl+N)");
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
    } else {
      wrapped(e.streaming ? e.text + "_" : e.text);
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

void ChatView::draw_composer() {
  const auto& atts = c_.attachments();
  for (size_t i = 0; i < atts.size(); ++i) {
    ImGui::PushID(static_cast<int>(1000 + i));
    if (i > 0) ImGui::SameLine();
    ImGui::BeginGroup();
    draw_image(atts[i].path, 48.0f);
    if (ImGui::SmallButton("remove")) c_.remove_attachment(i);
    ImGui::EndGroup();
    ImGui::PopID();
  }
  if (!c_.error().empty()) {
    if (ImGui::SmallButton("x##dismiss")) c_.dismiss_error();
    ImGui::SameLine();
    wrapped_colored(kErrorColor, c_.error());
  }
  ImGui::SetNextItemWidth(-110);
  if (ImGui::InputTextWithHint("##image_path", "image path (or drop image files on the window)", &image_path_,
                               ImGuiInputTextFlags_EnterReturnsTrue)) {
    if (c_.attach_image(image_path_)) image_path_.clear();
  }
  ImGui::SameLine();
  if (ImGui::Button("Add image", ImVec2(-1, 0)) && c_.attach_image(image_path_)) image_path_.clear();

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
