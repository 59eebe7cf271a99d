// Markdown of an answer, parsed with md4c (Debian libmd4c) into a flat list of blocks the
// view draws: paragraphs, headings, list items (with their marker and depth), quotes, code
// blocks, tables and rules. Display-free so the parse is tested without ImGui. Raw HTML is
// kept as text (a model's "<image>" is not markup). Built only where md4c is found
// (MVL_HAVE_MD4C); the view falls back to plain wrapped text otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mvl::desktop {

enum MdStyle : uint8_t {
  kMdPlain = 0,
  kMdStrong = 1,
  kMdEmphasis = 2,
  kMdCode = 4,
  kMdLink = 8,
  kMdStrike = 16,
};

struct MdSpan {
  uint8_t style = kMdPlain;  // MdStyle bits
  std::string text;          // UTF-8; "\n" is a hard line break
};
using MdInline = std::vector<MdSpan>;

struct MdBlock {
  enum class Kind { paragraph, heading, list_item, code, table, rule };
  Kind kind = Kind::paragraph;
  int level = 0;       // heading: 1-6
  int depth = 0;       // list nesting (0 outside lists)
  int quote = 0;       // block-quote nesting
  std::string marker;  // list_item: "•", "3." or "[x]"; set on the item's first block only
  MdInline text;       // paragraph, heading, list_item
  std::string code;    // code: the block's text, ending without a newline
  std::string lang;    // code: the fence's language ("" when none)
  std::vector<std::vector<MdInline>> rows;  // table: row 0 is the header
  std::vector<int> align;                   // table: per column, 0 left, 1 center, 2 right
};

std::vector<MdBlock> parse_markdown(std::string_view text);

// The plain text of an inline run (styles dropped).
std::string md_plain(const MdInline& spans);

}  // namespace mvl::desktop
