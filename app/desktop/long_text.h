// Long text in Dear ImGui without the 16-bit index limit: one TextUnformatted call emits
// 4 vertices per glyph into one draw list, so a single ~16K-glyph answer overflowed
// ImDrawList's 16-bit indices and aborted (issue 20). The text is cut into pieces (whole
// lines, long lines at a space), each its own item, and only pieces on screen are drawn.
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace mvl::desktop {

// Byte ranges [begin, end) of the pieces of `text`, in order. Pieces end at newlines (the
// newline itself belongs to no piece); a line longer than `max_bytes` is cut at its last
// space within the limit, else at a UTF-8 character boundary. Never empty: "" gives one
// empty piece, so every line (empty ones too) keeps its height.
std::vector<std::pair<size_t, size_t>> split_text_pieces(std::string_view text,
                                                         size_t max_bytes = 2048);

// Draws `text` wrapped at the window's right edge, piece by piece; pieces outside the
// clip rectangle only reserve their height (no vertices).
void draw_wrapped_long_text(std::string_view text);

}  // namespace mvl::desktop
