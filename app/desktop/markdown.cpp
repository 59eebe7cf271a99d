// md4c's callbacks folded into MdBlocks (see markdown.h).
#include "app/desktop/markdown.h"

#include <md4c.h>

#include <cstdlib>

namespace mvl::desktop {
namespace {

struct Builder {
  std::vector<MdBlock> blocks;
  struct List {
    bool ordered = false;
    unsigned next = 1;
  };
  std::vector<List> lists;
  int quote = 0;
  std::string pending_marker;  // the list item's marker, for its first block
  MdInline* target = nullptr;  // where inline text goes now (a block's text or a table cell)
  bool implicit = false;       // target is a paragraph opened by text in a tight list item
  bool in_code = false;
  uint8_t style = kMdPlain;
  std::vector<uint8_t> span_stack;
  std::vector<int> table_align;

  MdBlock& open(MdBlock::Kind kind) {
    MdBlock b;
    b.kind = kind;
    b.depth = static_cast<int>(lists.size());
    b.quote = quote;
    if (kind != MdBlock::Kind::table && kind != MdBlock::Kind::rule && !pending_marker.empty()) {
      b.marker = std::move(pending_marker);
      pending_marker.clear();
      if (kind == MdBlock::Kind::paragraph) b.kind = MdBlock::Kind::list_item;
    } else if (kind == MdBlock::Kind::paragraph && !lists.empty()) {
      b.kind = MdBlock::Kind::list_item;  // a later paragraph of the item: indented, no marker
    }
    blocks.push_back(std::move(b));
    return blocks.back();
  }
  void close_implicit() {
    if (implicit) {
      target = nullptr;
      implicit = false;
    }
  }
  void append(std::string_view s) {
    if (in_code) {
      blocks.back().code.append(s);
      return;
    }
    if (target == nullptr) {
      target = &open(MdBlock::Kind::paragraph).text;
      implicit = true;
    }
    if (target->empty() || target->back().style != style) target->push_back({style, {}});
    target->back().text.append(s);
  }
};

// A few named entities and numeric references; anything else stays as written.
std::string decode_entity(std::string_view e) {
  if (e == "&amp;") return "&";
  if (e == "&lt;") return "<";
  if (e == "&gt;") return ">";
  if (e == "&quot;") return "\"";
  if (e == "&apos;") return "'";
  if (e == "&nbsp;") return " ";
  if (e.size() > 3 && e[1] == '#') {
    const bool hex = e[2] == 'x' || e[2] == 'X';
    const std::string digits(e.substr(hex ? 3 : 2, e.size() - (hex ? 4 : 3)));
    const unsigned long cp = std::strtoul(digits.c_str(), nullptr, hex ? 16 : 10);
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return "\xEF\xBF\xBD";
    std::string out;
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return out;
  }
  return std::string(e);
}

int enter_block(MD_BLOCKTYPE type, void* detail, void* user) {
  auto& b = *static_cast<Builder*>(user);
  if (type != MD_BLOCK_DOC) b.close_implicit();
  switch (type) {
    case MD_BLOCK_QUOTE:
      ++b.quote;
      break;
    case MD_BLOCK_UL:
      b.lists.push_back({false, 1});
      break;
    case MD_BLOCK_OL:
      b.lists.push_back({true, static_cast<MD_BLOCK_OL_DETAIL*>(detail)->start});
      break;
    case MD_BLOCK_LI: {
      const auto* d = static_cast<MD_BLOCK_LI_DETAIL*>(detail);
      Builder::List& l = b.lists.back();
      if (d->is_task) {
        b.pending_marker = d->task_mark == ' ' ? "[ ]" : "[x]";
      } else if (l.ordered) {
        b.pending_marker = std::to_string(l.next++) + ".";
      } else {
        b.pending_marker = "\xE2\x80\xA2";  // U+2022 bullet
      }
      break;
    }
    case MD_BLOCK_HR:
      b.open(MdBlock::Kind::rule);
      break;
    case MD_BLOCK_H:
      b.open(MdBlock::Kind::heading).level =
          static_cast<int>(static_cast<MD_BLOCK_H_DETAIL*>(detail)->level);
      b.target = &b.blocks.back().text;
      break;
    case MD_BLOCK_CODE: {
      const auto* d = static_cast<MD_BLOCK_CODE_DETAIL*>(detail);
      MdBlock& blk = b.open(MdBlock::Kind::code);
      if (d->lang.text != nullptr) blk.lang.assign(d->lang.text, d->lang.size);
      b.in_code = true;
      break;
    }
    case MD_BLOCK_HTML:
    case MD_BLOCK_P:
      b.target = &b.open(MdBlock::Kind::paragraph).text;
      break;
    case MD_BLOCK_TABLE:
      b.open(MdBlock::Kind::table);
      break;
    case MD_BLOCK_TR:
      b.blocks.back().rows.emplace_back();
      break;
    case MD_BLOCK_TH:
    case MD_BLOCK_TD: {
      MdBlock& t = b.blocks.back();
      t.rows.back().emplace_back();
      if (t.rows.size() == 1) {
        const MD_ALIGN a = static_cast<MD_BLOCK_TD_DETAIL*>(detail)->align;
        t.align.push_back(a == MD_ALIGN_CENTER ? 1 : a == MD_ALIGN_RIGHT ? 2 : 0);
      }
      b.target = &t.rows.back().back();
      break;
    }
    default:
      break;
  }
  return 0;
}

int leave_block(MD_BLOCKTYPE type, void*, void* user) {
  auto& b = *static_cast<Builder*>(user);
  b.close_implicit();
  switch (type) {
    case MD_BLOCK_QUOTE:
      --b.quote;
      break;
    case MD_BLOCK_UL:
    case MD_BLOCK_OL:
      b.lists.pop_back();
      break;
    case MD_BLOCK_LI:
      b.pending_marker.clear();
      break;
    case MD_BLOCK_CODE: {
      b.in_code = false;
      std::string& code = b.blocks.back().code;
      if (!code.empty() && code.back() == '\n') code.pop_back();
      for (size_t i = code.find('\t'); i != std::string::npos; i = code.find('\t', i))
        code.replace(i, 1, "    ");  // the layout gives a tab one space's width
      break;
    }
    case MD_BLOCK_H:
    case MD_BLOCK_P:
    case MD_BLOCK_HTML:
    case MD_BLOCK_TH:
    case MD_BLOCK_TD:
      b.target = nullptr;
      break;
    default:
      break;
  }
  return 0;
}

uint8_t span_style(MD_SPANTYPE type) {
  switch (type) {
    case MD_SPAN_EM:
      return kMdEmphasis;
    case MD_SPAN_STRONG:
      return kMdStrong;
    case MD_SPAN_CODE:
      return kMdCode;
    case MD_SPAN_A:
      return kMdLink;
    case MD_SPAN_DEL:
      return kMdStrike;
    default:
      return kMdPlain;
  }
}

int enter_span(MD_SPANTYPE type, void*, void* user) {
  auto& b = *static_cast<Builder*>(user);
  b.span_stack.push_back(b.style);
  b.style |= span_style(type);
  return 0;
}

int leave_span(MD_SPANTYPE, void*, void* user) {
  auto& b = *static_cast<Builder*>(user);
  if (!b.span_stack.empty()) {
    b.style = b.span_stack.back();
    b.span_stack.pop_back();
  }
  return 0;
}

int on_text(MD_TEXTTYPE type, const MD_CHAR* text, MD_SIZE size, void* user) {
  auto& b = *static_cast<Builder*>(user);
  const std::string_view s(text, size);
  switch (type) {
    case MD_TEXT_NULLCHAR:
      b.append("\xEF\xBF\xBD");
      break;
    case MD_TEXT_BR:
      b.append("\n");
      break;
    case MD_TEXT_SOFTBR:
      b.append(" ");
      break;
    case MD_TEXT_ENTITY:
      b.append(decode_entity(s));
      break;
    default:
      b.append(s);
      break;
  }
  return 0;
}

}  // namespace

std::vector<MdBlock> parse_markdown(std::string_view text) {
  Builder b;
  MD_PARSER p{};
  p.abi_version = 0;
  p.flags = MD_DIALECT_GITHUB | MD_FLAG_NOHTML;
  p.enter_block = enter_block;
  p.leave_block = leave_block;
  p.enter_span = enter_span;
  p.leave_span = leave_span;
  p.text = on_text;
  if (md_parse(text.data(), static_cast<MD_SIZE>(text.size()), &p, &b) != 0) {
    MdBlock plain;  // md4c gives up only on allocation failure; show the text as it is
    plain.text.push_back({kMdPlain, std::string(text)});
    return {plain};
  }
  return std::move(b.blocks);
}

std::string md_plain(const MdInline& spans) {
  std::string out;
  for (const MdSpan& s : spans) out += s.text;
  return out;
}

}  // namespace mvl::desktop
