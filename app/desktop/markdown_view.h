// Drawing MdBlocks (markdown.h) with Dear ImGui: styled text laid out by our own line
// breaker (spaces, and any CJK character), lists with markers, quotes with a bar, tables
// (ImGui tables), code blocks in a monospace font with a copy button. Only lines inside the
// clip rectangle emit vertices, so answers of any length stay within ImGui's 16-bit indices.
#pragma once

#include <imgui.h>

#include <string_view>
#include <vector>

#include "app/desktop/markdown.h"

namespace mvl::desktop {

struct MdFonts {
  ImFont* mono = nullptr;  // code; null: the UI font
};

// Lays out and draws `spans` wrapped at `wrap_width` from the cursor, then advances the
// cursor past them. `size_scale` enlarges the font (headings). Returns the height used.
float draw_rich_text(const MdInline& spans, float wrap_width, const MdFonts& fonts,
                     float size_scale = 1.0f, ImU32 color = 0);

// The blocks of one answer. Code blocks' copy buttons use IDs under the current ID stack.
void draw_markdown(const std::vector<MdBlock>& blocks, const MdFonts& fonts);

// Where draw_rich_text breaks lines (exposed for tests): one entry per line, the byte
// offset into md_plain(spans) where the line starts.
std::vector<size_t> rich_text_line_starts(const MdInline& spans, float wrap_width,
                                          const MdFonts& fonts);

}  // namespace mvl::desktop
