// Tokenizer unit tests: malformed tokenizer.json files (one-line errors naming the problem),
// Split behaviors (expected pieces observed with HF tokenizers 0.23.3's pre_tokenize_str),
// lookups, invalid input and byte-by-byte streaming.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernels/core/error.h"
#include "llm/tokenizer/byte_level.h"
#include "llm/tokenizer/incremental_detokenizer.h"
#include "llm/tokenizer/pre_tokenizer.h"
#include "llm/tokenizer/tokenizer.h"
#include "llm/tokenizer/utf8.h"
#include "tests/support/test_util.h"

namespace mvl::llm {
namespace {

using nlohmann::json;

json base_json() {
  return json::parse(
      test::read_text(test::source_path("tests/golden/tokenizer/minimax_like.json")));
}

Tokenizer minimax_like() {
  return Tokenizer::from_file(test::source_path("tests/golden/tokenizer/minimax_like.json"));
}

struct BadCase {
  const char* name;
  std::function<std::string()> make;  // tokenizer.json text
  const char* expect;                 // substring of the error message
};

TEST(TokenizerMalformed, EachGivesOneLineError) {
  const std::vector<BadCase> cases = {
      {"not json", [] { return std::string("{\"model\": {\"type\": \"BPE\", "); },
       "invalid JSON at byte"},
      {"not an object", [] { return std::string("[1, 2, 3]"); }, "expected a JSON object"},
      {"missing model",
       [] {
         auto j = base_json();
         j.erase("model");
         return j.dump();
       },
       "'model' is missing"},
      {"unsupported model",
       [] {
         auto j = base_json();
         j["model"]["type"] = "WordPiece";
         return j.dump();
       },
       "model type 'WordPiece' is not supported"},
      {"vocab wrong type",
       [] {
         auto j = base_json();
         j["model"]["vocab"] = json::array({"a", "b"});
         return j.dump();
       },
       "model.vocab: expected an object"},
      {"vocab id not integer",
       [] {
         auto j = base_json();
         j["model"]["vocab"]["!"] = "zero";
         return j.dump();
       },
       "expected an integer id"},
      {"merge of unknown token",
       [] {
         auto j = base_json();
         j["model"]["merges"][5] = json::array({"zzqq", "e"});
         return j.dump();
       },
       "token 'zzqq' is not in the vocabulary"},
      {"merge wrong shape",
       [] {
         auto j = base_json();
         j["model"]["merges"][0] = 17;
         return j.dump();
       },
       "model.merges[0]"},
      {"merge string without space",
       [] {
         auto j = base_json();
         j["model"]["merges"][3] = "abc";
         return j.dump();
       },
       "two tokens separated by one space"},
      {"merges missing",
       [] {
         auto j = base_json();
         j["model"].erase("merges");
         return j.dump();
       },
       "model.merges is missing"},
      {"bad regex",
       [] {
         auto j = base_json();
         j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(\\p{L}+";
         return j.dump();
       },
       "does not compile"},
      {"unknown split behavior",
       [] {
         auto j = base_json();
         j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways";
         return j.dump();
       },
       "unknown split behavior 'Sideways'"},
      {"unsupported pre-tokenizer",
       [] {
         auto j = base_json();
         j["pre_tokenizer"] = {{"type", "Metaspace"}};
         return j.dump();
       },
       "pre-tokenizer type 'Metaspace' is not supported"},
      {"unsupported normalizer",
       [] {
         auto j = base_json();
         j["normalizer"] = {{"type", "BertNormalizer"}};
         return j.dump();
       },
       "normalizer type 'BertNormalizer' is not supported"},
      {"unsupported decoder",
       [] {
         auto j = base_json();
         j["decoder"] = {{"type", "WordPiece"}};
         return j.dump();
       },
       "decoder type 'WordPiece' is not supported"},
      {"added token without id",
       [] {
         auto j = base_json();
         j["added_tokens"][0].erase("id");
         return j.dump();
       },
       "added_tokens[0].id"},
      {"added token flag wrong type",
       [] {
         auto j = base_json();
         j["added_tokens"][1]["special"] = "yes";
         return j.dump();
       },
       "added_tokens[1].special"},
      {"unk token not in vocab",
       [] {
         auto j = base_json();
         j["model"]["unk_token"] = "<nope>";
         return j.dump();
       },
       "unk_token '<nope>'"},
  };
  ASSERT_GE(cases.size(), 8u);
  for (const auto& c : cases) {
    try {
      Tokenizer::from_json_text(c.make(), "tokenizer.json");
      ADD_FAILURE() << c.name << ": loaded without error";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << c.name << ": " << msg;
      EXPECT_NE(msg.find(c.expect), std::string::npos) << c.name << ": got '" << msg << "'";
    }
  }
}

TEST(TokenizerMalformed, TruncatedAndCorruptedFilesNeverCrash) {
  const std::string text =
      test::read_text(test::source_path("tests/golden/tokenizer/minimax_like.json"));
  std::mt19937 rng(11);
  for (int i = 0; i < 60; ++i) {
    std::string bad = text.substr(0, rng() % text.size());
    if (i % 2) {
      bad = text;
      for (int k = 0; k < 5; ++k) bad[rng() % bad.size()] = "{}[]\",:0a\\"[rng() % 10];
    }
    try {
      const Tokenizer t = Tokenizer::from_json_text(bad, "corrupt.json");
      t.encode("still works? <image> 123");  // a corruption can leave a valid file
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
}

TEST(TokenizerMalformed, MissingFileNamesThePath) {
  try {
    Tokenizer::from_file("/nonexistent/dir/tokenizer.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/tokenizer.json"), std::string::npos)
        << e.what();
  }
}

std::vector<std::string> split_pieces(const std::string& text, const std::string& pattern,
                                      SplitBehavior b, bool invert) {
  Regex re(regex_escape(pattern));
  RegexScratch rs;
  std::vector<std::tuple<size_t, size_t, bool>> m;
  std::vector<std::pair<size_t, size_t>> spans;
  PreTokenizer::split(text, re, b, invert, rs, m, spans);
  std::vector<std::string> out;
  for (auto [s, e] : spans) out.push_back(text.substr(s, e - s));
  return out;
}

TEST(PreTokenizerSplit, BehaviorsMatchHuggingFace) {
  using V = std::vector<std::string>;
  const std::string t = "a-b--c";
  EXPECT_EQ(split_pieces(t, "-", SplitBehavior::removed, false), (V{"a", "b", "c"}));
  EXPECT_EQ(split_pieces(t, "-", SplitBehavior::removed, true), (V{"-", "-", "-"}));
  EXPECT_EQ(split_pieces(t, "-", SplitBehavior::isolated, false),
            (V{"a", "-", "b", "-", "-", "c"}));
  EXPECT_EQ(split_pieces(t, "-", SplitBehavior::merged_with_previous, false),
            (V{"a-", "b-", "-", "c"}));
  EXPECT_EQ(split_pieces(t, "-", SplitBehavior::merged_with_previous, true),
            (V{"a", "-b", "-", "-c"}));
  EXPECT_EQ(split_pieces(t, "-", SplitBehavior::merged_with_next, false),
            (V{"a", "-b", "-", "-c"}));
  EXPECT_EQ(split_pieces(t, "-", SplitBehavior::merged_with_next, true), (V{"a-", "b-", "-", "c"}));
  EXPECT_EQ(split_pieces(t, "-", SplitBehavior::contiguous, false), (V{"a", "-", "b", "--", "c"}));
}

TEST(PreTokenizerSplit, DigitsAndWhitespaceSplit) {
  auto run = [](const json& spec, const std::string& text) {
    PreTokenizer p = PreTokenizer::from_json(spec);
    PreTokenScratch sc;
    std::vector<std::string> out;
    p.run(text, sc, [&](std::string_view s) { out.emplace_back(s); });
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(run({{"type", "Digits"}, {"individual_digits", true}}, "ab123c4"),
            (V{"ab", "1", "2", "3", "c", "4"}));
  EXPECT_EQ(run({{"type", "Digits"}, {"individual_digits", false}}, "ab123c4"),
            (V{"ab", "123", "c", "4"}));
  EXPECT_EQ(run({{"type", "WhitespaceSplit"}},
                " a  b\tc\xC2\x85"
                "d "),
            (V{"a", "b", "c", "d"}));
}

TEST(Tokenizer, LookupsAndSpecialTokens) {
  const Tokenizer t = minimax_like();
  const auto image = t.token_to_id("<image>");
  ASSERT_TRUE(image.has_value());
  EXPECT_TRUE(t.is_special(*image));
  EXPECT_EQ(t.id_to_token(*image), "<image>");
  EXPECT_EQ(t.vocab_size(), 3006);
  const auto e = t.token_to_id("e");
  ASSERT_TRUE(e.has_value());
  EXPECT_FALSE(t.is_special(*e));
  EXPECT_EQ(t.id_to_token(*e), "e");
  EXPECT_FALSE(t.token_to_id("definitely not a token").has_value());
  EXPECT_EQ(t.id_to_token(999999), "");
  // Every byte has its own token (the tiny model relies on it).
  for (int b = 0; b < 256; ++b) {
    const auto id =
        t.token_to_id(std::string(ByteLevelTable::get().encode(static_cast<unsigned char>(b))));
    EXPECT_TRUE(id.has_value()) << "no token for byte " << b;
  }
}

TEST(Tokenizer, SpecialTokensAsTextWhenNotParsed) {
  const Tokenizer t = minimax_like();
  const auto image = *t.token_to_id("<image>");
  const auto with = t.encode("look <image> here", true);
  const auto without = t.encode("look <image> here", false);
  EXPECT_NE(std::find(with.begin(), with.end(), image), with.end());
  EXPECT_EQ(std::find(without.begin(), without.end(), image), without.end());
  EXPECT_EQ(t.decode(without), "look <image> here");
}

TEST(Tokenizer, ConcurrentEncodesAgree) {
  // encode() is const and pools its scratch/caches; threads must not disturb each other.
  const Tokenizer t = minimax_like();
  const std::string text = "The quick brown fox 你好 <image> 123456 jumps\n\n  over";
  const auto want = t.encode(text);
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 300; ++i) {
        if (t.encode(text + std::to_string(i % 7)) != t.encode(text + std::to_string(i % 7)))
          ++bad[k];
        if (t.encode(text) != want) ++bad[k];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
}

TEST(Tokenizer, InvalidUtf8InputIsAnError) {
  const Tokenizer t = minimax_like();
  try {
    t.encode(std::string("ok \xFF\xFE bad"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos);
  }
}

TEST(Tokenizer, EmptyTextAndUnknownIds) {
  const Tokenizer t = minimax_like();
  EXPECT_TRUE(t.encode("").empty());
  const std::vector<int32_t> ids = {*t.token_to_id("e"), 999999, -5};
  EXPECT_EQ(t.decode(ids), "e");  // ids without a token are dropped, as in HF
}

TEST(IncrementalDetokenizer, HoldsSplitCharactersUntilComplete) {
  const Tokenizer t = minimax_like();
  // Feed "你好😀" one byte token at a time: text appears only when a character completes.
  const std::string text = "\xE4\xBD\xA0\xE5\xA5\xBD\xF0\x9F\x98\x80";
  std::vector<int32_t> byte_ids;
  IncrementalDetokenizer det(t, false);
  std::vector<std::string> pieces;
  for (unsigned char b : text) {
    // The byte-level token of a lone byte is its mapped character.
    const std::optional<int32_t> id = t.token_to_id(std::string(ByteLevelTable::get().encode(b)));
    ASSERT_TRUE(id.has_value()) << int(b);
    byte_ids.push_back(*id);
    pieces.push_back(det.push(*id));
  }
  const std::vector<std::string> want = {"", "", "\xE4\xBD\xA0",    "", "", "\xE5\xA5\xBD", "",
                                         "", "", "\xF0\x9F\x98\x80"};
  EXPECT_EQ(pieces, want);
  EXPECT_EQ(det.flush(), "");
  EXPECT_EQ(t.decode(byte_ids), text);
  // A truncated character at the end becomes one U+FFFD on flush, as in one-shot decode.
  IncrementalDetokenizer cut(t, false);
  EXPECT_EQ(cut.push(byte_ids[0]), "");
  EXPECT_EQ(cut.push(byte_ids[1]), "");
  EXPECT_EQ(cut.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(t.decode(std::vector<int32_t>{byte_ids[0], byte_ids[1]}), "\xEF\xBF\xBD");
}

TEST(Utf8, LossyMatchesRustFromUtf8Lossy) {
  // Expected strings follow Rust's documented maximal-subpart rule.
  EXPECT_EQ(utf8::to_valid_lossy("a\xE2\x82"
                                 "A"),
            "a\xEF\xBF\xBD"
            "A");
  EXPECT_EQ(utf8::to_valid_lossy("\xF0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8::to_valid_lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8::to_valid_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8::to_valid_lossy("\xF4\x8F\xBF\xBF"), "\xF4\x8F\xBF\xBF");
  EXPECT_EQ(utf8::to_valid_lossy("\xF4\x90"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  // Streaming in 1-byte chunks gives the same result.
  const std::string mixed =
      "x\xE4\xBD\xA0\xE4\xBD"
      "y\xF0\x9F\x98\x80\xFF\xE2\x82";
  utf8::LossyDecoder d;
  std::string out;
  for (char c : mixed) d.push(std::string_view(&c, 1), out);
  d.finish(out);
  EXPECT_EQ(out, utf8::to_valid_lossy(mixed));
  EXPECT_TRUE(utf8::is_valid(out));
}

}  // namespace
}  // namespace mvl::llm
