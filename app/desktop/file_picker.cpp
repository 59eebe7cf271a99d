// The image-file picker (see file_picker.h).
#include "app/desktop/file_picker.h"

#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

namespace mvl::desktop {
namespace fs = std::filesystem;

bool is_image_file_name(const std::string& name) {
  const size_t dot = name.find_last_of('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const char* e : {"png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"})
    if (ext == e) return true;
  return false;
}

void FilePicker::set_dir(const std::string& dir) {
  std::error_code ec;
  fs::path p =
      fs::absolute(dir.empty() ? fs::current_path(ec) : fs::path(dir), ec).lexically_normal();
  if (p.has_filename() == false && p != p.root_path()) p = p.parent_path();
  dir_ = p.string();
  path_field_ = dir_;
  selected_ = -1;
  list();
}

void FilePicker::list() {
  entries_.clear();
  error_.clear();
  std::error_code ec;
  fs::directory_iterator it(dir_, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    error_ = "cannot read '" + dir_ + "': " + ec.message();
    return;
  }
  for (const auto& e : it) {
    Entry x;
    x.name = e.path().filename().string();
    if (x.name.empty() || x.name[0] == '.') continue;  // hidden files
    x.dir = e.is_directory(ec);
    if (!x.dir) {
      if (!e.is_regular_file(ec) || (!all_files && !is_image_file_name(x.name))) continue;
      x.size = e.file_size(ec);
    }
    entries_.push_back(std::move(x));
  }
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    return a.dir != b.dir ? a.dir : a.name < b.name;
  });
}

void FilePicker::open(const std::string& dir) {
  if (!dir.empty() || dir_.empty())
    set_dir(dir);
  else
    list();
  open_ = popup_pending_ = true;
}

std::optional<std::string> FilePicker::draw() {
  if (!open_) return std::nullopt;
  const char* title = "Attach an image";
  if (popup_pending_) {
    ImGui::OpenPopup(title);
    popup_pending_ = false;
  }
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowSize(ImVec2(vp->WorkSize.x * 0.6f, vp->WorkSize.y * 0.7f),
                           ImGuiCond_Appearing);
  ImGui::SetNextWindowPos(
      ImVec2(vp->WorkPos.x + vp->WorkSize.x * 0.5f, vp->WorkPos.y + vp->WorkSize.y * 0.5f),
      ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
  std::optional<std::string> chosen;
  if (!ImGui::BeginPopupModal(title, &open_)) return std::nullopt;
  if (ImGui::Button("Up")) set_dir(fs::path(dir_).parent_path().string());
  ImGui::SameLine();
  if (ImGui::Button("Home")) {
    const char* home = std::getenv("HOME");
    set_dir(home != nullptr ? home : "/");
  }
  ImGui::SameLine();
  ImGui::SetNextItemWidth(-ImGui::CalcTextSize("all files").x - 40.0f);
  if (ImGui::InputText("##path", &path_field_, ImGuiInputTextFlags_EnterReturnsTrue)) {
    std::error_code ec;
    if (fs::is_directory(path_field_, ec)) {
      set_dir(path_field_);
    } else if (fs::is_regular_file(path_field_, ec)) {
      chosen = path_field_;
    } else {
      error_ = "no such file or folder: " + path_field_;
    }
  }
  ImGui::SameLine();
  if (ImGui::Checkbox("all files", &all_files)) list();
  if (!error_.empty()) ImGui::TextColored(ImVec4(1.0f, 0.45f, 0.4f, 1.0f), "%s", error_.c_str());
  const float footer = ImGui::GetFrameHeightWithSpacing() + ImGui::GetStyle().ItemSpacing.y;
  ImGui::BeginChild("entries", ImVec2(0, -footer), true);
  std::string enter_dir;
  ImGuiListClipper clip;
  clip.Begin(static_cast<int>(entries_.size()));
  while (clip.Step()) {
    for (int i = clip.DisplayStart; i < clip.DisplayEnd; ++i) {
      const Entry& e = entries_[static_cast<size_t>(i)];
      const std::string label = e.dir ? e.name + "/" : e.name;
      if (ImGui::Selectable(label.c_str(), selected_ == i, ImGuiSelectableFlags_AllowDoubleClick)) {
        selected_ = i;
        if (ImGui::IsMouseDoubleClicked(0)) {
          if (e.dir)
            enter_dir = (fs::path(dir_) / e.name).string();
          else
            chosen = (fs::path(dir_) / e.name).string();
        }
      }
      if (!e.dir) {
        ImGui::SameLine(ImGui::GetWindowContentRegionMax().x - 90.0f);
        ImGui::TextDisabled("%8.1f KB", static_cast<double>(e.size) / 1024.0);
      }
    }
  }
  if (entries_.empty() && error_.empty())
    ImGui::TextDisabled(all_files ? "empty folder" : "no images here");
  ImGui::EndChild();
  if (!enter_dir.empty()) set_dir(enter_dir);
  const bool file_selected = selected_ >= 0 && selected_ < static_cast<int>(entries_.size());
  ImGui::BeginDisabled(!file_selected);
  if (ImGui::Button("Open") && file_selected) {
    const Entry& e = entries_[static_cast<size_t>(selected_)];
    if (e.dir)
      set_dir((fs::path(dir_) / e.name).string());
    else
      chosen = (fs::path(dir_) / e.name).string();
  }
  ImGui::EndDisabled();
  ImGui::SameLine();
  if (ImGui::Button("Cancel") || ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape), false))
    open_ = false;
  if (chosen) open_ = false;
  if (!open_) ImGui::CloseCurrentPopup();
  ImGui::EndPopup();
  return chosen;
}

}  // namespace mvl::desktop
