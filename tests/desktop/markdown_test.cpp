// parse_markdown (app/desktop/markdown.h): the blocks the desktop draws for an answer.
// Skips where the build has no md4c (answers are plain text there).
#include <gtest/gtest.h>

#ifdef MVL_HAVE_MD4C
#include "app/desktop/markdown.h"

namespace mvl::desktop {
namespace {

using Kind = MdBlock::Kind;

TEST(Markdown, ParagraphsHeadingsAndInlineStyles) {
  const auto b = parse_markdown("# Title\n\nSome **bold**, *it* and `code`.\n\nSecond paragraph.");
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].kind, Kind::heading);
  EXPECT_EQ(b[0].level, 1);
  EXPECT_EQ(md_plain(b[0].text), "Title");
  EXPECT_EQ(b[1].kind, Kind::paragraph);
  EXPECT_EQ(md_plain(b[1].text), "Some bold, it and code.");
  ASSERT_EQ(b[1].text.size(), 7u);
  EXPECT_EQ(b[1].text[1].style, kMdStrong);
  EXPECT_EQ(b[1].text[1].text, "bold");
  EXPECT_EQ(b[1].text[3].style, kMdEmphasis);
  EXPECT_EQ(b[1].text[5].style, kMdCode);
  EXPECT_EQ(b[1].text[5].text, "code");
  EXPECT_EQ(md_plain(b[2].text), "Second paragraph.");
}

TEST(Markdown, NestedListsKeepMarkersAndDepth) {
  const auto b = parse_markdown("- one\n- two\n  1. first\n  2. second\n- [x] done\n");
  ASSERT_EQ(b.size(), 5u);
  EXPECT_EQ(b[0].kind, Kind::list_item);
  EXPECT_EQ(b[0].marker, "\xE2\x80\xA2");
  EXPECT_EQ(b[0].depth, 1);
  EXPECT_EQ(md_plain(b[1].text), "two");
  EXPECT_EQ(b[2].marker, "1.");
  EXPECT_EQ(b[2].depth, 2);
  EXPECT_EQ(md_plain(b[3].text), "second");
  EXPECT_EQ(b[3].marker, "2.");
  EXPECT_EQ(b[4].marker, "[x]");
  EXPECT_EQ(md_plain(b[4].text), "done");
}

TEST(Markdown, CodeBlocksKeepTheirTextAndLanguage) {
  const auto b = parse_markdown("Run:\n\n```python\nfor i in range(3):\n\tprint(i < 2)\n```\n");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1].kind, Kind::code);
  EXPECT_EQ(b[1].lang, "python");
  EXPECT_EQ(b[1].code, "for i in range(3):\n    print(i < 2)");
}

TEST(Markdown, TablesHaveAHeaderRowAndAlignment) {
  const auto b = parse_markdown(
      "| Item | Qty | Price |\n|:--|:-:|--:|\n| Tea | 2 | 3.50 |\n| Cake | 1 | 4.00 |\n");
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(b[0].kind, Kind::table);
  ASSERT_EQ(b[0].rows.size(), 3u);
  EXPECT_EQ(md_plain(b[0].rows[0][2]), "Price");
  EXPECT_EQ(md_plain(b[0].rows[2][0]), "Cake");
  EXPECT_EQ(b[0].align, (std::vector<int>{0, 1, 2}));
}

TEST(Markdown, RawHtmlAndEntitiesStayText) {
  const auto b = parse_markdown("See <image> &amp; &#x4E2D; <b>x</b>");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(md_plain(b[0].text), "See <image> & \xE4\xB8\xAD <b>x</b>");
}

TEST(Markdown, QuotesRulesAndHardBreaks) {
  const auto b = parse_markdown("> quoted\n> line  \n> two\n\n---\n\nafter");
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].quote, 1);
  EXPECT_EQ(md_plain(b[0].text), "quoted line\ntwo");
  EXPECT_EQ(b[1].kind, Kind::rule);
  EXPECT_EQ(b[2].quote, 0);
}

TEST(Markdown, AnUnfinishedStreamParses) {
  // Mid-stream text: an open fence and a half table must not throw or lose text.
  const auto b = parse_markdown("Here:\n\n```cpp\nint main() {");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1].code, "int main() {");
  EXPECT_FALSE(parse_markdown("| a | b |\n|--").empty());
  EXPECT_TRUE(parse_markdown("").empty());
}

}  // namespace
}  // namespace mvl::desktop
#else
TEST(Markdown, NeedsMd4c) {
  GTEST_SKIP() << "built without libmd4c-dev: answers are plain text";
}
#endif
