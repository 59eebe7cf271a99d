// ANLS, exact match and the lmms-eval AI2D match against hand-computed values: case,
// whitespace (normalised for the distance, raw for the denominator), empty strings,
// several references, the 0.5 threshold in both readings, code points not bytes.
#include <gtest/gtest.h>

#include "app/eval/metrics.h"
#include "app/eval/text.h"

namespace mvl::eval {
namespace {

using Refs = std::vector<std::string>;

double lmms(const std::string& p, const Refs& r) { return anls(p, r, AnlsImpl::lmms).value(); }
double strict(const std::string& p, const Refs& r) { return anls(p, r, AnlsImpl::strict).value(); }

TEST(Levenshtein, CountsEditsOverCodePoints) {
  EXPECT_EQ(levenshtein(U"kitten", U"sitting"), 3u);
  EXPECT_EQ(levenshtein(U"", U"abc"), 3u);
  EXPECT_EQ(levenshtein(U"abc", U""), 3u);
  EXPECT_EQ(levenshtein(U"flaw", U"lawn"), 2u);
  // "café" vs "cafe" is one edit; over UTF-8 bytes it would be two.
  EXPECT_EQ(levenshtein(utf8_to_u32("caf\xC3\xA9"), utf8_to_u32("cafe")), 1u);
}

TEST(Text, CollapseLowerIsPythonsStripLowerSplitJoin) {
  EXPECT_EQ(u32_to_utf8(collapse_lower(utf8_to_u32("  New\t\tYORK \n City  "))), "new york city");
  EXPECT_EQ(u32_to_utf8(collapse_lower(utf8_to_u32("\xC3\x89T\xC3\x89"))), "\xC3\xA9t\xC3\xA9");  // ÉTÉ -> été
  EXPECT_EQ(u32_to_utf8(collapse_lower(utf8_to_u32("\xD0\x9C\xD0\x98\xD0\xA0"))), "\xD0\xBC\xD0\xB8\xD1\x80");  // МИР
  EXPECT_EQ(u32_to_utf8(collapse_lower(utf8_to_u32(""))), "");
  // A stray byte is one U+FFFD, not an exception.
  EXPECT_EQ(utf8_to_u32("a\xFF" "b"), std::u32string(U"a\uFFFDb"));
}

TEST(Anls, ExactAfterCaseAndWhitespaceNormalisation) {
  EXPECT_DOUBLE_EQ(lmms("Paris", {"paris"}), 1.0);
  EXPECT_DOUBLE_EQ(lmms("  PARIS \n", {"paris"}), 1.0);
  EXPECT_DOUBLE_EQ(lmms("new   york", {"New York"}), 1.0);
  EXPECT_DOUBLE_EQ(lmms("INV-2024-0173", {"inv-2024-0173"}), 1.0);
}

TEST(Anls, PartialCreditIsOneMinusNormalisedDistance) {
  EXPECT_NEAR(lmms("Pari", {"Paris"}), 1.0 - 1.0 / 5.0, 1e-12);     // one deletion over 5
  EXPECT_NEAR(lmms("Pariss", {"Paris"}), 1.0 - 1.0 / 6.0, 1e-12);   // denominator: the longer one
  EXPECT_NEAR(lmms("new york city", {"New York"}), 1.0 - 5.0 / 13.0, 1e-12);
}

TEST(Anls, DenominatorCountsRawWhitespaceAndUpperLength) {
  // Same 5 edits after normalisation, but the raw prediction is 17 code points long.
  EXPECT_NEAR(lmms("  new york city  ", {"New York"}), 1.0 - 5.0 / 17.0, 1e-12);
  // 'ß'.upper() == 'SS': straße counts 7 for the denominator; 2 edits to "strasse".
  EXPECT_NEAR(lmms("strasse", {"stra\xC3\x9F" "e"}), 1.0 - 2.0 / 7.0, 1e-12);
  // Code points: é is one character.
  EXPECT_NEAR(lmms("cafe", {"caf\xC3\xA9"}), 0.75, 1e-12);
  EXPECT_DOUBLE_EQ(lmms("CAF\xC3\x89", {"caf\xC3\xA9"}), 1.0);
}

TEST(Anls, ThresholdHalfInBothReadings) {
  // "ab" vs "abcd": NL = 2/4 = 0.5 exactly. lmms-eval keeps 0.5, the strict reading drops it.
  EXPECT_DOUBLE_EQ(normalized_levenshtein("ab", "abcd"), 0.5);
  EXPECT_DOUBLE_EQ(lmms("ab", {"abcd"}), 0.5);
  EXPECT_DOUBLE_EQ(strict("ab", {"abcd"}), 0.0);
  // NL = 4/7 > 0.5: zero in both.
  EXPECT_DOUBLE_EQ(lmms("abc", {"abcdefg"}), 0.0);
  EXPECT_DOUBLE_EQ(strict("abc", {"abcdefg"}), 0.0);
  // NL = 1/3 < 0.5: the same in both.
  EXPECT_NEAR(lmms("ab", {"abc"}), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(strict("ab", {"abc"}), 2.0 / 3.0, 1e-12);
}

TEST(Anls, EmptyStrings) {
  EXPECT_DOUBLE_EQ(lmms("", {"a"}), 0.0);      // NL = 1
  EXPECT_DOUBLE_EQ(lmms("", {""}), 1.0);       // both empty: NL defined as 0
  // Whitespace only vs empty: both normalise to "", distance 0 over a raw length of 3.
  EXPECT_DOUBLE_EQ(lmms("   ", {""}), 1.0);
}

TEST(Anls, MultipleReferencesTakeTheBest) {
  EXPECT_DOUBLE_EQ(lmms("513.81", {"$513.81", "513.81"}), 1.0);
  EXPECT_NEAR(lmms("513.81", {"$513.81"}), 1.0 - 1.0 / 7.0, 1e-12);
  EXPECT_NEAR(lmms("Pari", {"London", "Paris", "Rome"}), 0.8, 1e-12);
  EXPECT_DOUBLE_EQ(lmms("xyz", {"London", "Paris"}), 0.0);
  EXPECT_FALSE(anls("anything", {}).has_value());  // no references: unscored
}

TEST(ExactMatch, NormalisesCaseWhitespaceAndWrappingPunctuation) {
  EXPECT_EQ(exact_match("Paris.", {"paris"}), 1.0);
  EXPECT_EQ(exact_match("  \"New  York\" ", {"new york"}), 1.0);
  EXPECT_EQ(exact_match("$513.81", {"513.81"}), 1.0);  // '$' wraps, the inner '.' stays
  EXPECT_EQ(exact_match("513.8", {"513.81"}), 0.0);
  EXPECT_EQ(exact_match("the paris", {"paris"}), 0.0);
  EXPECT_EQ(exact_match("b", {"a", "B"}), 1.0);
  EXPECT_FALSE(exact_match("x", {}).has_value());
  EXPECT_EQ(normalize_exact("  Hello,  World!! "), "hello, world");
}

TEST(LmmsChoiceMatch, LeadingLetterDotOrTheWholeAnswer) {
  EXPECT_TRUE(lmms_choice_match("B", 'B'));
  EXPECT_TRUE(lmms_choice_match("b", 'B'));
  EXPECT_TRUE(lmms_choice_match("(B)", 'B'));
  EXPECT_TRUE(lmms_choice_match("B. the sun", 'B'));
  EXPECT_FALSE(lmms_choice_match("The answer is B.", 'B'));
  EXPECT_FALSE(lmms_choice_match("C", 'B'));
  EXPECT_FALSE(lmms_choice_match("BC", 'B'));
  EXPECT_FALSE(lmms_choice_match("", 'B'));
}

TEST(MeanOf, SkipsUnset) {
  EXPECT_DOUBLE_EQ(mean_of({1.0, std::nullopt, 0.5}).value(), 0.75);
  EXPECT_FALSE(mean_of({std::nullopt}).has_value());
}

}  // namespace
}  // namespace mvl::eval
