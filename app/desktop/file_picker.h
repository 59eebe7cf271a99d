// A small image-file picker of our own in Dear ImGui (a modal): the folder's subfolders and
// image files (or all files), a typed path, Up and Home, double-click or Open to choose.
// The listing is a plain std::filesystem read, refreshed when the folder changes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mvl::desktop {

class FilePicker {
 public:
  // Opens the picker on `dir` (or the last folder / the current one when empty).
  void open(const std::string& dir = {});
  bool is_open() const { return open_; }
  // Draws the modal while open; returns the chosen file once.
  std::optional<std::string> draw();

  // For tests: the folder and its listing as the picker shows it.
  struct Entry {
    std::string name;
    bool dir = false;
    uintmax_t size = 0;
  };
  void set_dir(const std::string& dir);
  const std::string& dir() const { return dir_; }
  const std::vector<Entry>& entries() const { return entries_; }
  bool all_files = false;

 private:
  void list();
  std::string dir_, path_field_, error_;
  std::vector<Entry> entries_;
  bool open_ = false, popup_pending_ = false;
  int selected_ = -1;
};

// Image file extensions the picker shows by default (what the decoder reads).
bool is_image_file_name(const std::string& name);

}  // namespace mvl::desktop
