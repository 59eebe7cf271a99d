// Long text drawn in pieces (see long_text.h).
#include "app/desktop/long_text.h"

#include <imgui.h>

namespace mvl::desktop {
namespace {

bool utf8_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Where to cut a line [begin, end) longer than max_bytes: after its last space within the
// limit, else at the last character boundary within it.
size_t cut_point(std::string_view text, size_t begin, size_t max_bytes) {
  const size_t limit = begin + max_bytes;
  for (size_t i = limit; i > begin + max_bytes / 2; --i) {
    if (text[i - 1] == ' ') return i;
  }
  size_t i = limit;
  while (i > begin + 1 && utf8_continuation(text[i])) --i;
  return i;
}

}  // namespace

std::vector<std::pair<size_t, size_t>> split_text_pieces(std::string_view text, size_t max_bytes) {
  if (max_bytes < 8) max_bytes = 8;
  std::vector<std::pair<size_t, size_t>> pieces;
  size_t pos = 0;
  while (true) {
    const size_t nl = text.find('\n', pos);
    const size_t line_end = nl == std::string_view::npos ? text.size() : nl;
    while (line_end - pos > max_bytes) {
      const size_t cut = cut_point(text, pos, max_bytes);
      pieces.emplace_back(pos, cut);
      pos = cut;
    }
    pieces.emplace_back(pos, line_end);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return pieces;
}

void draw_wrapped_long_text(std::string_view text) {
  ImGui::PushTextWrapPos(0.0f);
  const float wrap_width = ImGui::GetContentRegionAvail().x;
  for (const auto& [b, e] : split_text_pieces(text)) {
    const char* begin = text.data() + b;
    const char* end = text.data() + e;
    const ImVec2 size = ImGui::CalcTextSize(begin, end, false, wrap_width);
    if (ImGui::IsRectVisible(ImVec2(wrap_width, size.y))) {
      ImGui::TextUnformatted(begin, end);
    } else {
      ImGui::Dummy(ImVec2(size.x, size.y));  // keeps the layout and the scroll range
    }
  }
  ImGui::PopTextWrapPos();
}

}  // namespace mvl::desktop
