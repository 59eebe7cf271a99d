// Tile map drawing (see tile_map_view.h).
#include "app/desktop/tile_map_view.h"

#include <imgui.h>

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

namespace mvl::desktop {

float draw_tile_map(const engine::TileMap& m, unsigned texture, float height) {
  if (m.canvas_width <= 0 || m.canvas_height <= 0) return 0;
  const float caption = ImGui::GetTextLineHeightWithSpacing();
  const float h = std::max(20.0f, height - caption);
  const float scale = std::min(h / static_cast<float>(m.canvas_height),
                               2.2f * h / static_cast<float>(m.canvas_width));
  const float cw = static_cast<float>(m.canvas_width) * scale,
              ch = static_cast<float>(m.canvas_height) * scale;
  const float thumb = std::min(h * 0.45f, 64.0f);
  const float gap = 8.0f;
  ImGui::BeginGroup();
  const ImVec2 o = ImGui::GetCursorScreenPos();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImTextureID tex = reinterpret_cast<ImTextureID>(static_cast<intptr_t>(texture));
  // The thumbnail tile: the whole image squashed to one square (tile 0, its own 576 tokens).
  const ImVec2 t0(o.x, o.y), t1(o.x + thumb, o.y + thumb);
  if (texture != 0)
    dl->AddImage(tex, t0, t1);
  else
    dl->AddRectFilled(t0, t1, IM_COL32(90, 110, 140, 255));
  dl->AddRect(t0, t1, IM_COL32(255, 210, 90, 255));
  dl->AddText(ImVec2(o.x, o.y + thumb + 2), ImGui::GetColorU32(ImGuiCol_TextDisabled), "thumb");
  // The canvas: black padding, the keep-ratio image, the tile grid.
  const ImVec2 c0(o.x + thumb + gap, o.y), c1(c0.x + cw, c0.y + ch);
  dl->AddRectFilled(c0, c1, IM_COL32(0, 0, 0, 255));
  const ImVec2 i0(c0.x + static_cast<float>(m.placed_x) * scale,
                  c0.y + static_cast<float>(m.placed_y) * scale);
  const ImVec2 i1(i0.x + static_cast<float>(m.placed_width) * scale,
                  i0.y + static_cast<float>(m.placed_height) * scale);
  if (texture != 0)
    dl->AddImage(tex, i0, i1);
  else
    dl->AddRectFilled(i0, i1, IM_COL32(90, 110, 140, 255));
  // What unpadding drops: feature rows/columns outside the window, in canvas pixels.
  const float fpx = static_cast<float>(m.tile_size) /
                    static_cast<float>(std::max<int64_t>(1, m.feature_side)) * scale;
  const float ky0 = c0.y + static_cast<float>(m.unpad_row_begin) * fpx;
  const float ky1 = c0.y + static_cast<float>(m.unpad_row_begin + m.unpad_rows) * fpx;
  const float kx0 = c0.x + static_cast<float>(m.unpad_col_begin) * fpx;
  const float kx1 = c0.x + static_cast<float>(m.unpad_col_begin + m.unpad_cols) * fpx;
  const ImU32 dropped = IM_COL32(200, 60, 60, 110);
  if (ky0 > c0.y) dl->AddRectFilled(c0, ImVec2(c1.x, ky0), dropped);
  if (ky1 < c1.y) dl->AddRectFilled(ImVec2(c0.x, ky1), c1, dropped);
  if (kx0 > c0.x) dl->AddRectFilled(ImVec2(c0.x, ky0), ImVec2(kx0, ky1), dropped);
  if (kx1 < c1.x) dl->AddRectFilled(ImVec2(kx1, ky0), ImVec2(c1.x, ky1), dropped);
  dl->AddRect(ImVec2(kx0, ky0), ImVec2(kx1, ky1), IM_COL32(120, 230, 120, 255));
  const ImU32 grid = IM_COL32(255, 210, 90, 220);
  for (int64_t r = 0; r <= m.grid_rows; ++r) {
    const float y = c0.y + ch * static_cast<float>(r) / static_cast<float>(m.grid_rows);
    dl->AddLine(ImVec2(c0.x, y), ImVec2(c1.x, y), grid);
  }
  for (int64_t c = 0; c <= m.grid_cols; ++c) {
    const float x = c0.x + cw * static_cast<float>(c) / static_cast<float>(m.grid_cols);
    dl->AddLine(ImVec2(x, c0.y), ImVec2(x, c1.y), grid);
  }
  const float width = thumb + gap + cw;
  ImGui::Dummy(ImVec2(width, std::max(ch, thumb + ImGui::GetTextLineHeight())));
  std::string label =
      fmt::format("{}x{} tiles + thumb, {} tokens", m.grid_rows, m.grid_cols, m.image_tokens);
  if (m.budget_applied()) label += fmt::format(" (was {})", m.released_image_tokens);
  ImGui::TextDisabled("%s", label.c_str());
  ImGui::EndGroup();
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip(
        "%lldx%lld px image -> %lldx%lld canvas: %lld x %lld tiles of %lld px plus the thumbnail "
        "tile.\n"
        "Green: the image features the model keeps (%lld rows x %lld columns, one newline token "
        "per row);\n"
        "red: padding dropped after unpadding. Tokens: %lld thumbnail + %lld x (%lld + 1) = "
        "%lld.%s",
        static_cast<long long>(m.width), static_cast<long long>(m.height),
        static_cast<long long>(m.canvas_width), static_cast<long long>(m.canvas_height),
        static_cast<long long>(m.grid_rows), static_cast<long long>(m.grid_cols),
        static_cast<long long>(m.tile_size), static_cast<long long>(m.unpad_rows),
        static_cast<long long>(m.unpad_cols), static_cast<long long>(m.thumbnail_tokens),
        static_cast<long long>(m.unpad_rows), static_cast<long long>(m.unpad_cols),
        static_cast<long long>(m.image_tokens),
        m.budget_applied()
            ? "\nA smaller grid than the released preprocessing, for the token budget."
            : "");
  return width;
}

}  // namespace mvl::desktop
