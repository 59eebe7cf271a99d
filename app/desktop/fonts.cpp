// Font loading with fallbacks (see fonts.h). ImGui 1.86 from Debian uses 16-bit ImWchar, so
// glyphs above U+FFFF (most colour emoji) cannot be in the atlas; the symbols of the Basic
// Multilingual Plane (arrows, shapes, dingbats, misc symbols) come from Symbola.
#include "app/desktop/fonts.h"

#include <cstdio>
#include <filesystem>

namespace mvl::desktop {
namespace {

const ImWchar kWestern[] = {0x0020, 0x00FF, 0x0100, 0x024F, 0x0370, 0x03FF, 0x0400, 0x04FF,
                            0x2000, 0x206F, 0x20A0, 0x20CF, 0x2100, 0x214F, 0};
const ImWchar kSymbols[] = {0x2190, 0x21FF, 0x2200, 0x22FF, 0x2300, 0x23FF, 0x2460,
                            0x24FF, 0x2500, 0x27BF, 0x2900, 0x2BFF, 0};

bool exists(const char* path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

const char* first_existing(std::initializer_list<const char*> paths) {
  for (const char* p : paths)
    if (exists(p)) return p;
  return nullptr;
}

// Common Chinese (2,500), Japanese kana and Joyo kanji, and CJK punctuation: what answers
// mostly use, in a 2048-pixel atlas. Rarer ideographs show as '?'.
const ImWchar* cjk_ranges() {
  static ImVector<ImWchar> ranges;
  if (ranges.empty()) {
    ImFontGlyphRangesBuilder b;
    ImGuiIO& io = ImGui::GetIO();
    b.AddRanges(io.Fonts->GetGlyphRangesChineseSimplifiedCommon());
    b.AddRanges(io.Fonts->GetGlyphRangesJapanese());
    static const ImWchar extra[] = {0x3000, 0x30FF, 0xFF00, 0xFFEF, 0};
    b.AddRanges(extra);
    b.BuildRanges(&ranges);
  }
  return ranges.Data;
}

// Merges the CJK and symbol fallbacks into the font just added.
void merge_fallbacks(float size, LoadedFonts& out) {
  ImGuiIO& io = ImGui::GetIO();
  if (const char* cjk =
          first_existing({"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                          "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"})) {
    ImFontConfig cfg;
    cfg.MergeMode = true;
    cfg.FontNo = std::string(cjk).find(".ttc") != std::string::npos ? 2 : 0;  // the SC face
    cfg.OversampleH = 1;  // CJK glyphs are dense; keep the atlas small
    if (io.Fonts->AddFontFromFileTTF(cjk, size, &cfg, cjk_ranges()) != nullptr) {
      out.cjk = true;
      out.files.emplace_back(cjk);
    }
  }
  if (const char* sym =
          first_existing({"/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf",
                          "/usr/share/fonts/truetype/noto/NotoSansSymbols2-Regular.ttf"})) {
    ImFontConfig cfg;
    cfg.MergeMode = true;
    if (io.Fonts->AddFontFromFileTTF(sym, size, &cfg, kSymbols) != nullptr) {
      out.symbols = true;
      out.files.emplace_back(sym);
    }
  }
}

}  // namespace

LoadedFonts load_fonts(const std::string& requested, float scale) {
  LoadedFonts out;
  ImGuiIO& io = ImGui::GetIO();
  const float size = 16.0f * scale;
  if (!requested.empty()) {
    if (exists(requested.c_str()))
      out.ui = io.Fonts->AddFontFromFileTTF(requested.c_str(), size, nullptr, kWestern);
    if (out.ui == nullptr)
      std::fprintf(
          stderr, "minimax-vl-desktop: warning: font '%s' could not be loaded; using the default\n",
          requested.c_str());
    else
      out.files.push_back(requested);
  }
  if (out.ui == nullptr) {
    if (const char* p =
            first_existing({"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                            "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
                            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"})) {
      out.ui = io.Fonts->AddFontFromFileTTF(p, size, nullptr, kWestern);
      if (out.ui != nullptr) out.files.emplace_back(p);
    }
  }
  if (out.ui == nullptr) {
    ImFontConfig cfg;
    cfg.SizePixels = 13.0f * scale;
    out.ui = io.Fonts->AddFontDefault(&cfg);
  }
  merge_fallbacks(size, out);
  if (const char* mono =
          first_existing({"/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
                          "/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf",
                          "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf"})) {
    out.mono = io.Fonts->AddFontFromFileTTF(mono, size, nullptr, kWestern);
    if (out.mono != nullptr) {
      out.files.emplace_back(mono);
      merge_fallbacks(size, out);  // CJK comments and strings in code
    }
  }
  return out;
}

}  // namespace mvl::desktop
