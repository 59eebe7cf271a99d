// The tile map (see tile_map.h): vision/preprocess/anyres.h's geometry, gathered for front ends.
#include "app/engine/loading/tile_map.h"

#include <fmt/format.h>

#include <algorithm>

#include "vision/config/vision_config.h"
#include "vision/preprocess/anyres.h"

namespace mvl::engine {

TileMap compute_tile_map(int64_t width, int64_t height, const vision::PreprocessConfig& cfg,
                         int64_t max_image_tokens) {
  const vision::AnyresLayout released = vision::anyres_layout(width, height, cfg);
  vision::PreprocessConfig budgeted = cfg;
  budgeted.pinpoints = vision::pinpoints_within_budget(width, height, cfg, max_image_tokens);
  const vision::AnyresLayout l = vision::anyres_layout(width, height, budgeted);
  const auto [cw, ch] = l.best_resolution;
  const vision::CanvasPlacement place = vision::keep_ratio_placement(width, height, cw, ch);
  TileMap m;
  m.width = width;
  m.height = height;
  m.canvas_width = cw;
  m.canvas_height = ch;
  m.tile_size = cfg.tile_size;
  m.grid_rows = l.grid_rows;
  m.grid_cols = l.grid_cols;
  m.placed_x = place.x0;
  m.placed_y = place.y0;
  m.placed_width = place.new_width;
  m.placed_height = place.new_height;
  m.feature_side = l.feature_side;
  m.unpad_row_begin = l.unpad.row_begin;
  m.unpad_rows = l.unpad.rows;
  m.unpad_col_begin = l.unpad.col_begin;
  m.unpad_cols = l.unpad.cols;
  m.thumbnail_tokens = l.feature_side * l.feature_side;
  m.image_tokens = l.image_tokens();
  m.max_image_tokens = max_image_tokens > 0 ? max_image_tokens : 0;
  m.released_image_tokens = released.image_tokens();
  m.released_grid_rows = released.grid_rows;
  m.released_grid_cols = released.grid_cols;
  return m;
}

std::string format_tile_map(const TileMap& m, const std::string& name, int64_t context_left) {
  std::string out = fmt::format(
      "{}: {}x{} px -> {}x{} canvas, {} x {} tiles of {} px + 1 thumbnail ({} tiles); image at "
      "{},{} size {}x{}\n",
      name, m.width, m.height, m.canvas_width, m.canvas_height, m.grid_rows, m.grid_cols,
      m.tile_size, m.tiles(), m.placed_x, m.placed_y, m.placed_width, m.placed_height);
  // Each tile drawn as kCell x kLine characters; a character is '#' when the feature under
  // its centre survives unpadding, '.' when it is padding.
  constexpr int64_t kCell = 8, kLine = 3;
  const int64_t fr = m.grid_rows * m.feature_side, fc = m.grid_cols * m.feature_side;
  auto border = [&] {
    std::string b = "  +";
    for (int64_t c = 0; c < m.grid_cols; ++c) b += std::string(kCell, '-') + "+";
    return b + "\n";
  };
  out += border();
  for (int64_t r = 0; r < m.grid_rows; ++r) {
    for (int64_t y = 0; y < kLine; ++y) {
      out += "  |";
      for (int64_t c = 0; c < m.grid_cols; ++c) {
        for (int64_t x = 0; x < kCell; ++x) {
          const int64_t frow =
              (r * kLine + y) * fr / (m.grid_rows * kLine) + m.feature_side / (2 * kLine);
          const int64_t fcol =
              (c * kCell + x) * fc / (m.grid_cols * kCell) + m.feature_side / (2 * kCell);
          const bool kept = frow >= m.unpad_row_begin && frow < m.unpad_row_begin + m.unpad_rows &&
                            fcol >= m.unpad_col_begin && fcol < m.unpad_col_begin + m.unpad_cols;
          out += kept ? '#' : '.';
        }
        out += '|';
      }
      out += '\n';
    }
    out += border();
  }
  out += fmt::format("  tokens: {} thumbnail + {} rows x ({} cols + 1 newline) = {} image tokens",
                     m.thumbnail_tokens, m.unpad_rows, m.unpad_cols, m.image_tokens);
  if (m.max_image_tokens > 0) {
    if (m.budget_applied())
      out += fmt::format(" (budget {}: {} x {} grid instead of the released {} x {}, {} tokens)",
                         m.max_image_tokens, m.grid_rows, m.grid_cols, m.released_grid_rows,
                         m.released_grid_cols, m.released_image_tokens);
    else
      out += fmt::format(" (within the budget of {})", m.max_image_tokens);
    if (m.over_budget()) out += "; over the budget even with the smallest grid";
  }
  out += "\n";
  if (context_left >= 0)
    out += fmt::format(
        "  context: the image takes {} of the {} positions left ({:.0f}%)\n", m.image_tokens,
        context_left,
        context_left > 0
            ? 100.0 * static_cast<double>(m.image_tokens) / static_cast<double>(context_left)
            : 100.0);
  return out;
}

}  // namespace mvl::engine
