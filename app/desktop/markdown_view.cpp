// Markdown drawing with Dear ImGui (see markdown_view.h).
#include "app/desktop/markdown_view.h"

#include <imgui_internal.h>  // ImTextCharFromUtf8

#include <algorithm>
#include <string>

namespace mvl::desktop {
namespace {

constexpr uint8_t kBlockCode = 0x80;  // internal: a code block's text (mono, no per-word frame)

// One unbreakable piece: a word, a run of spaces, one CJK character or a hard line break.
struct Atom {
  int span = 0;
  uint32_t begin = 0, end = 0;  // bytes in spans[span].text
  float width = 0;
  bool space = false, newline = false;
  bool alone = false;  // a CJK character: breaks on both sides
};

struct Placed {
  int span = 0;
  uint32_t begin = 0, end = 0;
  float x = 0;
  int line = 0;
  float width = 0;
};

struct Layout {
  std::vector<Placed> placed;
  int lines = 0;
  float line_height = 0;
  float width = 0;  // the widest line
};

ImFont* span_font(uint8_t style, const MdFonts& fonts) {
  return (style & (kMdCode | kBlockCode)) && fonts.mono != nullptr ? fonts.mono : ImGui::GetFont();
}

// Characters a line may break around without a space: CJK scripts, fullwidth forms, symbols.
bool breaks_alone(unsigned cp) {
  return cp >= 0x2E80 && !(cp >= 0xFE00 && cp <= 0xFE0F);
}

Layout layout(const MdInline& spans, float wrap_width, const MdFonts& fonts, float scale) {
  Layout out;
  const float size = ImGui::GetFontSize() * scale;
  out.line_height = size;
  std::vector<Atom> atoms;
  for (size_t si = 0; si < spans.size(); ++si) {
    const std::string& t = spans[si].text;
    ImFont* font = span_font(spans[si].style, fonts);
    const float k = size / font->FontSize;
    const char* base = t.data();
    const char* end = base + t.size();
    const char* p = base;
    while (p < end) {
      unsigned cp = 0;
      const int n = std::max(1, ImTextCharFromUtf8(&cp, p, end));
      const uint32_t b = static_cast<uint32_t>(p - base);
      const float w = font->GetCharAdvance(static_cast<ImWchar>(cp == '\t' ? ' ' : cp)) * k;
      const bool space = cp == ' ' || cp == '\t';
      if (cp == '\n') {
        atoms.push_back({static_cast<int>(si), b, b + 1, 0, false, true, false});
      } else if (breaks_alone(cp) || atoms.empty() || atoms.back().span != static_cast<int>(si) ||
                 atoms.back().newline || atoms.back().space != space || atoms.back().alone) {
        atoms.push_back({static_cast<int>(si), b, b + static_cast<uint32_t>(n), w, space, false,
                         breaks_alone(cp)});
      } else {
        atoms.back().end += static_cast<uint32_t>(n);
        atoms.back().width += w;
      }
      p += n;
    }
  }
  float x = 0;
  int line = 0;
  bool wrapped = false;
  bool any = false;
  auto place = [&](const Atom& a, uint32_t b, uint32_t e, float w) {
    out.placed.push_back({a.span, b, e, x, line, w});
    x += w;
    out.width = std::max(out.width, x);
    any = true;
  };
  for (const Atom& a : atoms) {
    if (a.newline) {
      ++line;
      x = 0;
      wrapped = false;
      continue;
    }
    if (a.space && x == 0 && wrapped) continue;  // no spaces at the start of a wrapped line
    if (x > 0 && x + a.width > wrap_width) {
      ++line;
      x = 0;
      wrapped = true;
      if (a.space) continue;
    }
    if (a.width <= wrap_width || a.space) {
      place(a, a.begin, a.end, a.width);
      continue;
    }
    // A word wider than the line (a long URL, a hash): cut at characters.
    const std::string& t = spans[a.span].text;
    ImFont* font = span_font(spans[a.span].style, fonts);
    const float k = size / font->FontSize;
    uint32_t piece = a.begin;
    float w = 0;
    for (uint32_t i = a.begin; i < a.end;) {
      unsigned cp = 0;
      const int n = std::max(1, ImTextCharFromUtf8(&cp, t.data() + i, t.data() + a.end));
      const float cw = font->GetCharAdvance(static_cast<ImWchar>(cp)) * k;
      if (w + cw > wrap_width && i > piece) {
        place(a, piece, i, w);
        ++line;
        x = 0;
        wrapped = true;
        piece = i;
        w = 0;
      }
      w += cw;
      i += static_cast<uint32_t>(n);
    }
    place(a, piece, a.end, w);
  }
  out.lines = any || !atoms.empty() ? line + 1 : 0;
  return out;
}

ImU32 style_color(uint8_t style, ImU32 base) {
  if (style & (kMdCode | kBlockCode)) return IM_COL32(235, 190, 140, 255);
  if (style & kMdLink) return IM_COL32(115, 180, 255, 255);
  if (style & kMdEmphasis) return IM_COL32(215, 215, 255, 255);
  return base;
}

float draw_layout(const MdInline& spans, const Layout& l, const MdFonts& fonts, float scale,
                  ImU32 color, float wrap_width) {
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 clip_min = dl->GetClipRectMin();
  const ImVec2 clip_max = dl->GetClipRectMax();
  const ImU32 base = color != 0 ? color : ImGui::GetColorU32(ImGuiCol_Text);
  const float size = ImGui::GetFontSize() * scale;
  for (const Placed& p : l.placed) {
    const float y = origin.y + static_cast<float>(p.line) * l.line_height;
    if (y + l.line_height < clip_min.y || y > clip_max.y) continue;
    const MdSpan& s = spans[p.span];
    const char* b = s.text.data() + p.begin;
    const char* e = s.text.data() + p.end;
    const ImVec2 pos(origin.x + p.x, y);
    const ImU32 c = style_color(s.style, base);
    if (s.style & kMdCode)
      dl->AddRectFilled(ImVec2(pos.x - 1, pos.y),
                        ImVec2(pos.x + p.width + 1, pos.y + l.line_height),
                        IM_COL32(255, 255, 255, 28), 2.0f);
    if (*b == '\t' || *b == ' ') continue;  // spaces only advance
    ImFont* font = span_font(s.style, fonts);
    dl->AddText(font, size, pos, c, b, e);
    if (s.style & kMdStrong) dl->AddText(font, size, ImVec2(pos.x + 1, pos.y), c, b, e);
    if (s.style & kMdLink)
      dl->AddLine(ImVec2(pos.x, y + l.line_height - 1),
                  ImVec2(pos.x + p.width, y + l.line_height - 1), c);
    if (s.style & kMdStrike)
      dl->AddLine(ImVec2(pos.x, y + l.line_height * 0.55f),
                  ImVec2(pos.x + p.width, y + l.line_height * 0.55f), c);
  }
  const float h = static_cast<float>(l.lines) * l.line_height;
  ImGui::Dummy(ImVec2(std::max(1.0f, std::min(wrap_width, l.width)), h));
  return h;
}

MdInline with_style(const MdInline& spans, uint8_t extra) {
  MdInline out = spans;
  for (MdSpan& s : out) s.style |= extra;
  return out;
}

const float kHeadingScale[] = {1.45f, 1.3f, 1.17f, 1.08f, 1.0f, 1.0f};

}  // namespace

float draw_rich_text(const MdInline& spans, float wrap_width, const MdFonts& fonts,
                     float size_scale, ImU32 color) {
  wrap_width = std::max(wrap_width, 20.0f);
  return draw_layout(spans, layout(spans, wrap_width, fonts, size_scale), fonts, size_scale, color,
                     wrap_width);
}

std::vector<size_t> rich_text_line_starts(const MdInline& spans, float wrap_width,
                                          const MdFonts& fonts) {
  const Layout l = layout(spans, std::max(wrap_width, 20.0f), fonts, 1.0f);
  std::vector<size_t> span_base(spans.size(), 0);
  for (size_t i = 1; i < spans.size(); ++i)
    span_base[i] = span_base[i - 1] + spans[i - 1].text.size();
  std::vector<size_t> starts;
  int last = -1;
  for (const Placed& p : l.placed) {
    if (p.line == last) continue;
    last = p.line;
    starts.push_back(span_base[p.span] + p.begin);
  }
  return starts;
}

void draw_markdown(const std::vector<MdBlock>& blocks, const MdFonts& fonts) {
  const float quote_step = 14.0f, list_step = ImGui::GetFontSize() * 1.4f;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const MdBlock& b = blocks[i];
    ImGui::PushID(static_cast<int>(i));
    const float indent =
        static_cast<float>(b.quote) * quote_step + static_cast<float>(b.depth) * list_step;
    if (indent > 0) ImGui::Indent(indent);
    const float avail = ImGui::GetContentRegionAvail().x;
    const float y0 = ImGui::GetCursorScreenPos().y;
    const ImU32 text_color = b.quote > 0 ? ImGui::GetColorU32(ImGuiCol_TextDisabled) : 0;
    switch (b.kind) {
      case MdBlock::Kind::paragraph:
      case MdBlock::Kind::list_item:
        if (!b.marker.empty()) {
          const ImVec2 p = ImGui::GetCursorScreenPos();
          const float w = ImGui::CalcTextSize(b.marker.c_str()).x;
          ImGui::GetWindowDrawList()->AddText(ImVec2(p.x - w - ImGui::GetFontSize() * 0.4f, p.y),
                                              ImGui::GetColorU32(ImGuiCol_Text), b.marker.c_str());
        }
        draw_rich_text(b.text, avail, fonts, 1.0f, text_color);
        if (b.kind == MdBlock::Kind::paragraph) ImGui::Spacing();
        break;
      case MdBlock::Kind::heading: {
        const float scale = kHeadingScale[std::clamp(b.level, 1, 6) - 1];
        ImGui::Spacing();
        draw_rich_text(with_style(b.text, kMdStrong), avail, fonts, scale,
                       IM_COL32(240, 240, 250, 255));
        if (b.level <= 2) ImGui::Separator();
        ImGui::Spacing();
        break;
      }
      case MdBlock::Kind::code: {
        ImGui::TextDisabled("%s", b.lang.empty() ? "code" : b.lang.c_str());
        ImGui::SameLine(std::max(0.0f, ImGui::GetContentRegionMax().x -
                                           ImGui::CalcTextSize("copy").x -
                                           ImGui::GetStyle().FramePadding.x * 2));
        if (ImGui::SmallButton("copy")) ImGui::SetClipboardText(b.code.c_str());
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("Copy this code block");
        ImDrawList* dl = ImGui::GetWindowDrawList();
        const ImVec2 p0 = ImGui::GetCursorScreenPos();
        dl->ChannelsSplit(2);
        dl->ChannelsSetCurrent(1);
        const float pad = 6.0f;
        ImGui::Indent(pad);
        ImGui::Dummy(ImVec2(0, 1));
        const float h = draw_rich_text({{kBlockCode, b.code}}, avail - 2 * pad, fonts);
        ImGui::Unindent(pad);
        dl->ChannelsSetCurrent(0);
        dl->AddRectFilled(
            p0, ImVec2(p0.x + avail, p0.y + h + pad + 2 * ImGui::GetStyle().ItemSpacing.y),
            IM_COL32(255, 255, 255, 16), 4.0f);
        dl->ChannelsMerge();
        ImGui::Spacing();
        break;
      }
      case MdBlock::Kind::table: {
        size_t cols = b.align.size();
        for (const auto& r : b.rows) cols = std::max(cols, r.size());
        cols = std::min<size_t>(cols, 64);
        if (cols == 0) break;
        const ImGuiTableFlags flags = ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg |
                                      ImGuiTableFlags_SizingStretchProp | ImGuiTableFlags_Resizable;
        if (ImGui::BeginTable("##table", static_cast<int>(cols), flags, ImVec2(avail, 0))) {
          for (size_t r = 0; r < b.rows.size(); ++r) {
            ImGui::TableNextRow(r == 0 ? ImGuiTableRowFlags_Headers : 0);
            for (size_t c = 0; c < cols && c < b.rows[r].size(); ++c) {
              ImGui::TableSetColumnIndex(static_cast<int>(c));
              const MdInline cell = r == 0 ? with_style(b.rows[r][c], kMdStrong) : b.rows[r][c];
              draw_rich_text(cell, ImGui::GetContentRegionAvail().x, fonts);
            }
          }
          ImGui::EndTable();
        }
        ImGui::Spacing();
        break;
      }
      case MdBlock::Kind::rule:
        ImGui::Separator();
        break;
    }
    if (b.quote > 0) {
      const float x = ImGui::GetCursorScreenPos().x - indent;
      const float y1 = ImGui::GetCursorScreenPos().y - ImGui::GetStyle().ItemSpacing.y;
      for (int q = 0; q < b.quote; ++q)
        ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(x + q * quote_step, y0),
                                                  ImVec2(x + q * quote_step + 3, y1),
                                                  IM_COL32(140, 140, 160, 160));
    }
    if (indent > 0) ImGui::Unindent(indent);
    ImGui::PopID();
  }
}

}  // namespace mvl::desktop
