// EXIF orientation (spec §3.2, §9.13): read the tag from JPEG APP1, PNG eXIf, WebP EXIF or a
// TIFF's own IFD0, and apply it the way PIL's ImageOps.exif_transpose does. Decoding never
// applies it on its own; DecodeOptions::apply_exif_orientation opts in. Internal to vision/image.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "vision/image/image.h"

namespace mvl::vision::detail {

// 1..8 per the EXIF spec; 1 (upright) when absent or unreadable (a broken EXIF block must
// not make an otherwise fine image fail).
int read_exif_orientation(const uint8_t* data, size_t size, const std::string& format);

// Rotates/flips img.rgb and img.alpha in place; width/height swap for 5..8.
void apply_exif_orientation(Image& img, int orientation);

}  // namespace mvl::vision::detail
