// Dataset readers: JSONL / RRC JSON / JSON list / VLMEvalKit TSV (quoted fields, Python
// answer lists, base64 images written once and shared by index), field aliases, and the
// errors: missing file, malformed line named file:line, missing fields, bad answers,
// duplicate ids. The bundled sample datasets load.
#include <filesystem>

#include <gtest/gtest.h>

#include "app/eval/dataset.h"
#include "app/eval/prompts.h"
#include "kernels/core/error.h"
#include "tests/support/test_util.h"

namespace mvl::eval {
namespace {

namespace fs = std::filesystem;

std::string write(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string p = dir + "/" + name;
  test::write_text(p, text);
  return p;
}

// The message of the Error thrown by f, or "" when it does not throw.
template <typename F>
std::string error_of(F&& f, ErrorCategory* cat = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (cat) *cat = e.category();
    return e.what();
  }
  return "";
}

TEST(Dataset, JsonlDocVqaWithAliasesAndRelativeImages) {
  const std::string d = test::temp_dir("eval_ds");
  const std::string p = write(d, "val.jsonl",
                              "{\"questionId\": 49153, \"question\": \"What is the total?\", \"image\": "
                              "\"documents/a.png\", \"answers\": [\"$5\", \"5\"]}\n"
                              "\n"
                              "{\"id\": \"q2\", \"question\": \"Who?\", \"images\": [\"/abs/b.png\", \"c.png\"], "
                              "\"answer\": \"Ana\"}\n"
                              "{\"question\": \"Test split?\", \"image\": \"d.png\"}\r\n");
  const Dataset ds = load_dataset(Task::docvqa, p);
  EXPECT_EQ(ds.format, "jsonl");
  ASSERT_EQ(ds.items.size(), 3u);
  EXPECT_EQ(ds.items[0].id, "49153");
  EXPECT_EQ(ds.items[0].question, "What is the total?");
  EXPECT_EQ(ds.items[0].images, std::vector<std::string>{d + "/documents/a.png"});
  EXPECT_EQ(ds.items[0].answers, (std::vector<std::string>{"$5", "5"}));
  EXPECT_EQ(ds.items[0].where, "val.jsonl:1");
  EXPECT_EQ(ds.items[1].id, "q2");
  EXPECT_EQ(ds.items[1].images, (std::vector<std::string>{"/abs/b.png", d + "/c.png"}));
  EXPECT_EQ(ds.items[1].answers, std::vector<std::string>{"Ana"});
  EXPECT_EQ(ds.items[1].where, "val.jsonl:3");  // the blank line still counts
  EXPECT_EQ(ds.items[2].id, "2");               // no id: the position
  EXPECT_TRUE(ds.items[2].answers.empty());     // unscored

  LoadOptions lo;
  lo.image_root = "/data/docvqa";
  EXPECT_EQ(load_dataset(Task::docvqa, p, lo).items[0].images[0], "/data/docvqa/documents/a.png");
}

TEST(Dataset, RrcReleaseJsonAndPlainList) {
  const std::string d = test::temp_dir("eval_ds");
  const std::string rrc = write(d, "val_v1.0.json",
                                R"({"dataset_name": "docvqa", "data": [
      {"questionId": 1, "question": "q1", "question_types": ["form"], "image": "documents/x.png",
       "docId": 7, "answers": ["a", "b"], "data_split": "val"},
      {"questionId": 2, "question": "q2", "image": "documents/y.png", "answers": ["c"]}]})");
  const Dataset ds = load_dataset(Task::docvqa, rrc);
  EXPECT_EQ(ds.format, "json");
  ASSERT_EQ(ds.items.size(), 2u);
  EXPECT_EQ(ds.items[1].id, "2");
  EXPECT_EQ(ds.items[1].where, "val_v1.0.json: item 1");

  const std::string list = write(d, "ai2d.json",
                                 R"([{"question": "Which?", "image": "i.png", "options": ["x", "y", "z"], "answer": 2},
                                     {"question": "Which2?", "image": "i.png", "answerTexts": ["x", "y"], "correctAnswer": 0},
                                     {"question": "Which3?", "image": "i.png", "choices": ["x", "y", "z", "w"], "answer": "D"}])");
  const Dataset a = load_dataset(Task::ai2d, list);
  ASSERT_EQ(a.items.size(), 3u);
  EXPECT_EQ(a.items[0].answer_index, 2);
  EXPECT_EQ(a.items[1].answer_index, 0);
  EXPECT_EQ(a.items[1].options, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(a.items[2].answer_index, 3);
}

TEST(Dataset, Ai2dAnswerAsStringIndexOrLetter) {
  const std::string d = test::temp_dir("eval_ds");
  const std::string p = write(d, "ai2d.jsonl",
                              "{\"question\": \"q\", \"image\": \"i.png\", \"options\": [\"a\", \"b\", \"c\"], "
                              "\"answer\": \"1\"}\n"
                              "{\"question\": \"q\", \"image\": \"i.png\", \"options\": [\"a\", \"b\", \"c\"], "
                              "\"answer\": \"C\"}\n"
                              "{\"question\": \"q\", \"image\": \"i.png\", \"options\": [\"a\", \"b\"]}\n");
  const Dataset ds = load_dataset(Task::ai2d, p);
  EXPECT_EQ(ds.items[0].answer_index, 1);
  EXPECT_EQ(ds.items[1].answer_index, 2);
  EXPECT_EQ(ds.items[2].answer_index, -1);
}

TEST(Dataset, ErrorsNameTheFileAndLine) {
  const std::string d = test::temp_dir("eval_ds");
  ErrorCategory cat{};
  std::string msg = error_of([&] { load_dataset(Task::docvqa, d + "/nope.jsonl"); }, &cat);
  EXPECT_EQ(cat, ErrorCategory::not_found);
  EXPECT_NE(msg.find("nope.jsonl"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no such file"), std::string::npos) << msg;

  const std::string ok = "{\"question\": \"q\", \"image\": \"i.png\", \"answers\": [\"a\"]}\n";
  msg = error_of([&] { load_dataset(Task::docvqa, write(d, "bad.jsonl", ok + "\n{\"question\": \"q\",\n")); }, &cat);
  EXPECT_EQ(cat, ErrorCategory::bad_format);
  EXPECT_NE(msg.find("bad.jsonl:3: not valid JSON"), std::string::npos) << msg;

  msg = error_of([&] { load_dataset(Task::docvqa, write(d, "noq.jsonl", ok + "{\"image\": \"i.png\"}\n")); });
  EXPECT_NE(msg.find("noq.jsonl:2: missing 'question'"), std::string::npos) << msg;

  msg = error_of([&] { load_dataset(Task::docvqa, write(d, "noimg.jsonl", "{\"question\": \"q\"}\n")); });
  EXPECT_NE(msg.find("noimg.jsonl:1: no image"), std::string::npos) << msg;

  msg = error_of([&] { load_dataset(Task::docvqa, write(d, "type.jsonl", "{\"question\": 5, \"image\": \"i\"}\n")); });
  EXPECT_NE(msg.find("type.jsonl:1: 'question' must be a string"), std::string::npos) << msg;

  msg = error_of([&] { load_dataset(Task::docvqa, write(d, "arr.jsonl", "[1, 2]\n")); });
  EXPECT_NE(msg.find("arr.jsonl:1: expected a JSON object"), std::string::npos) << msg;

  msg = error_of([&] {
    load_dataset(Task::ai2d, write(d, "range.jsonl",
                                   "{\"question\": \"q\", \"image\": \"i\", \"options\": [\"a\", \"b\"], \"answer\": 2}\n"));
  });
  EXPECT_NE(msg.find("range.jsonl:1: answer '2' is out of range for 2 options"), std::string::npos) << msg;

  msg = error_of([&] {
    load_dataset(Task::ai2d, write(d, "noopt.jsonl", "{\"question\": \"q\", \"image\": \"i\", \"answer\": 1}\n"));
  });
  EXPECT_NE(msg.find("noopt.jsonl:1: missing 'options'"), std::string::npos) << msg;

  msg = error_of([&] {
    load_dataset(Task::docvqa, write(d, "dup.jsonl",
                                     "{\"id\": \"x\", \"question\": \"q\", \"image\": \"i\"}\n"
                                     "{\"id\": \"x\", \"question\": \"q\", \"image\": \"i\"}\n"));
  });
  EXPECT_NE(msg.find("dup.jsonl:2: id 'x' repeats dup.jsonl:1"), std::string::npos) << msg;

  msg = error_of([&] { load_dataset(Task::docvqa, write(d, "data.parquet", "PAR1")); }, &cat);
  EXPECT_EQ(cat, ErrorCategory::invalid_argument);
  EXPECT_NE(msg.find("--format"), std::string::npos) << msg;

  msg = error_of([&] { load_dataset(Task::docvqa, write(d, "obj.json", "{\"items\": []}")); });
  EXPECT_NE(msg.find("'data' list"), std::string::npos) << msg;
}

TEST(Dataset, VlmEvalKitTsvDocVqa) {
  const std::string d = test::temp_dir("eval_tsv");
  // A quoted question holding a tab, a quote and a newline; Python list answers.
  const std::string p = write(d, "DocVQA_VAL.tsv",
                              "index\tquestion\tanswer\timage_path\n"
                              "10\t\"What is \"\"it\"\"?\tSay\nit\"\t['1/8', \"one-eighth\", 'it\\'s']\tdocs/a.png\n"
                              "11\tplain\tsingle\t/abs/b.png\n");
  const Dataset ds = load_dataset(Task::docvqa, p);
  EXPECT_EQ(ds.format, "tsv");
  ASSERT_EQ(ds.items.size(), 2u);
  EXPECT_EQ(ds.items[0].id, "10");
  EXPECT_EQ(ds.items[0].question, "What is \"it\"?\tSay\nit");
  EXPECT_EQ(ds.items[0].answers, (std::vector<std::string>{"1/8", "one-eighth", "it's"}));
  EXPECT_EQ(ds.items[0].images, std::vector<std::string>{d + "/docs/a.png"});
  EXPECT_EQ(ds.items[1].where, "DocVQA_VAL.tsv:4");  // the quoted newline moved it down a line
  EXPECT_EQ(ds.items[1].answers, std::vector<std::string>{"single"});

  std::string msg = error_of([&] {
    load_dataset(Task::docvqa, write(d, "short.tsv", "index\tquestion\timage_path\n1\tq\n"));
  });
  EXPECT_NE(msg.find("short.tsv:2: 2 fields, the header has 3"), std::string::npos) << msg;
  msg = error_of([&] { load_dataset(Task::docvqa, write(d, "noq.tsv", "index\timage_path\n1\tx\n")); });
  EXPECT_NE(msg.find("no 'question' column"), std::string::npos) << msg;
}

TEST(Dataset, VlmEvalKitTsvAi2dWithBase64Images) {
  const std::string d = test::temp_dir("eval_tsv");
  // base64 of "\x89PNG\r\n\x1a\n" + "tiny": the bytes must land in the cache dir unchanged.
  const std::string b64 = "iVBORw0KGgp0aW55";
  const std::string p = write(d, "AI2D_TEST.tsv",
                              "index\tquestion\thint\tA\tB\tC\tD\tanswer\timage\n"
                              "7\tWhich?\t\tsun\tmoon\tstar\tplanet\tC\t" + b64 + "\n"
                              "8\tWhich two?\tLook left\tx\ty\t\t\tA\t7\n");
  LoadOptions lo;
  lo.image_cache_dir = d + "/cache";
  const Dataset ds = load_dataset(Task::ai2d, p, lo);
  ASSERT_EQ(ds.items.size(), 2u);
  EXPECT_EQ(ds.items[0].options, (std::vector<std::string>{"sun", "moon", "star", "planet"}));
  EXPECT_EQ(ds.items[0].answer_index, 2);
  ASSERT_EQ(ds.items[0].images.size(), 1u);
  // <index>-<fnv1a64 of the bytes>.<ext>
  EXPECT_EQ(ds.items[0].images[0].rfind(d + "/cache/7-", 0), 0u) << ds.items[0].images[0];
  EXPECT_EQ(ds.items[0].images[0].size(), (d + "/cache/7-").size() + 16 + 4)
      << ds.items[0].images[0];
  EXPECT_EQ(test::read_text(ds.items[0].images[0]), std::string("\x89PNG\r\n\x1a\ntiny"));
  EXPECT_EQ(ds.items[1].options, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(ds.items[1].images, ds.items[0].images);  // "7" names row 7's image
  EXPECT_EQ(ds.items[1].question, "Hint: Look left\nWhich two?");

  // Without a cache dir the embedded images have nowhere to go.
  const std::string msg = error_of([&] { load_dataset(Task::ai2d, p); });
  EXPECT_NE(msg.find("AI2D_TEST.tsv:2: the TSV embeds base64 images"), std::string::npos) << msg;
}

// Issue 14: VLMEvalKit ids that clean to the same file name ("a.b" / "a_b", or equal in their
// first 64 chars) once shared one cached image, so both items were scored on the second.
TEST(Dataset, TsvIdsThatCleanAlikeKeepTheirOwnImages) {
  const std::string d = test::temp_dir("eval_tsv_collide");
  const std::string long_a = std::string(70, 'x') + "a", long_b = std::string(70, 'x') + "b";
  // base64 of "\x89PNG\r\n\x1a\n" + "AAAA" / "BBBB" / "CCCC" / "DDDD"
  const std::string p =
      write(d, "collide.tsv",
            "index\tquestion\tanswer\timage\n"
            "a.b\tq1\tx\tiVBORw0KGgpBQUFB\n"
            "a_b\tq2\ty\tiVBORw0KGgpCQkJC\n" +
                long_a + "\tq3\tz\tiVBORw0KGgpDQ0ND\n" + long_b + "\tq4\tw\tiVBORw0KGgpERERE\n");
  LoadOptions lo;
  lo.image_cache_dir = d + "/cache";
  const Dataset ds = load_dataset(Task::docvqa, p, lo);
  ASSERT_EQ(ds.items.size(), 4u);
  const char* want[] = {"AAAA", "BBBB", "CCCC", "DDDD"};
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(ds.items[i].id);
    ASSERT_EQ(ds.items[i].images.size(), 1u);
    EXPECT_EQ(test::read_text(ds.items[i].images[0]), std::string("\x89PNG\r\n\x1a\n") + want[i]);
  }
  EXPECT_NE(ds.items[0].images[0], ds.items[1].images[0]);
  EXPECT_NE(ds.items[2].images[0], ds.items[3].images[0]);
  // Loading again reuses the cached files, still each its own.
  const Dataset again = load_dataset(Task::docvqa, p, lo);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_EQ(test::read_text(again.items[i].images[0]),
              std::string("\x89PNG\r\n\x1a\n") + want[i]);
}

// Found by fuzzing: a number out of double range threw nlohmann's out_of_range past the
// JSONL reader instead of our one-line bad_format error.
TEST(Dataset, JsonlNumberOutOfRangeIsAFormatError) {
  const std::string d = test::temp_dir("eval_fuzz");
  const std::string p = write(
      d, "big.jsonl", "{\"questionId\": 555E655, \"question\": \"q\", \"image\": \"a.png\"}\n");
  const std::string msg = error_of([&] { load_dataset(Task::docvqa, p); });
  EXPECT_NE(msg.find("big.jsonl:1: not valid JSON"), std::string::npos) << msg;
}

// Found by fuzzing: a TSV with only an image_path column and an empty value in it threw
// std::out_of_range ("map::at") instead of a one-line format error.
TEST(Dataset, TsvEmptyImagePathIsAFormatError) {
  const std::string d = test::temp_dir("eval_fuzz_tsv");
  const std::string p = write(d, "e.tsv", "index\tquestion\tanswer\timage_path\na\tq\tx\t\n");
  const std::string msg = error_of([&] { load_dataset(Task::docvqa, p); });
  EXPECT_NE(msg.find("e.tsv:2: empty 'image_path'"), std::string::npos) << msg;
}

// Fuzz-found: a row with an empty index became an item with id "" (results keyed by it collide).
TEST(Dataset, EmptyIdsAreFormatErrors) {
  const std::string d = test::temp_dir("eval_fuzz_empty_id");
  const std::string t = write(d, "e.tsv", "index\tquestion\tanswer\timage_path\n\tq\tx\ta.png\n");
  const std::string tm = error_of([&] { load_dataset(Task::docvqa, t); });
  EXPECT_NE(tm.find("e.tsv:2: empty 'index'"), std::string::npos) << tm;
  const std::string j = write(d, "e.jsonl", "{\"questionId\": \"\", \"question\": \"q\", \"answers\": [\"x\"], \"image\": \"a.png\"}\n");
  const std::string jm = error_of([&] { load_dataset(Task::docvqa, j); });
  EXPECT_NE(jm.find("empty 'questionId'"), std::string::npos) << jm;
}

TEST(Dataset, BundledSamplesLoadAndTheirImagesExist) {
  for (auto [task, name] : {std::pair{Task::docvqa, "docvqa_sample.jsonl"}, std::pair{Task::ai2d, "ai2d_sample.jsonl"}}) {
    const Dataset ds = load_dataset(task, test::source_path(std::string("assets/eval/") + name));
    EXPECT_GE(ds.items.size(), 4u) << name;
    for (const auto& it : ds.items) {
      ASSERT_EQ(it.images.size(), 1u);
      EXPECT_TRUE(fs::is_regular_file(it.images[0])) << it.images[0];
      if (task == Task::ai2d) EXPECT_GE(it.answer_index, 0);
      else EXPECT_FALSE(it.answers.empty());
    }
  }
}

TEST(Prompts, LmmsEvalShortAnswerTexts) {
  Item it;
  it.question = "What is the total?";
  EXPECT_EQ(build_prompt(Task::docvqa, Protocol::short_answer, it),
            "What is the total?\nAnswer the question using a single word or phrase.");
  it.question = "Which planet?";
  it.options = {"Mars", "Venus", "Earth"};
  EXPECT_EQ(build_prompt(Task::ai2d, Protocol::short_answer, it),
            "Which planet?\nA. Mars\nB. Venus\nC. Earth\nAnswer with the option's letter from the given choices "
            "directly.");
  const std::string cot = build_prompt(Task::ai2d, Protocol::cot, it);
  EXPECT_NE(cot.find("<answer></answer>"), std::string::npos);
  EXPECT_NE(cot.find("C. Earth"), std::string::npos);
  EXPECT_EQ(default_max_tokens(Task::docvqa, Protocol::short_answer), 32);
  EXPECT_EQ(default_max_tokens(Task::ai2d, Protocol::short_answer), 16);
  EXPECT_GT(default_max_tokens(Task::docvqa, Protocol::cot), 256);
  EXPECT_THROW(parse_protocol("long"), Error);
  EXPECT_THROW(parse_task("chartqa"), Error);
}

}  // namespace
}  // namespace mvl::eval
