// The desktop's fonts: a Latin/Greek/Cyrillic UI font (DejaVu Sans, Noto Sans or Liberation,
// or --font), with CJK (fonts-noto-cjk) and symbol (fonts-symbola) glyphs merged in when
// those Debian packages are installed, and a monospace font for code blocks. Nothing is
// required: missing files are skipped and ImGui's ASCII font is the last resort.
#pragma once

#include <imgui.h>

#include <string>
#include <vector>

namespace mvl::desktop {

struct LoadedFonts {
  ImFont* ui = nullptr;
  ImFont* mono = nullptr;          // null: code uses the UI font
  std::vector<std::string> files;  // what was loaded, for --version-like diagnostics
  bool cjk = false, symbols = false;
};

// Adds the fonts to io.Fonts (the atlas is built on the first frame). `requested` ("" for
// the default) is the --font file. Call once, before the first frame.
LoadedFonts load_fonts(const std::string& requested, float scale);

}  // namespace mvl::desktop
