// The tile map of an attached image, drawn with Dear ImGui before it is sent: the anyres
// canvas with the image where the resize puts it, the tile grid, the feature rows or columns
// the model drops after unpadding (shaded), the squashed thumbnail tile beside it, and a
// caption with the grid and the image-token count. Geometry comes from engine::TileMap.
#pragma once

#include "app/engine/loading/tile_map.h"

namespace mvl::desktop {

// Draws one map `height` pixels tall from the cursor (as one ImGui item group). `texture`
// is the image's GL texture (0: a plain fill). Returns the width used.
float draw_tile_map(const engine::TileMap& m, unsigned texture, float height);

}  // namespace mvl::desktop
