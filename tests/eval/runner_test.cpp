// The eval runner over an Engine with the deterministic fake model (no weights, fast):
// reports written and consistent with the records, per-item errors recorded and retried on
// resume, --limit then resume runs only the new items, a stop request cancels the running
// item and keeps the finished ones, a torn last line is dropped, and resume refuses a run
// with other settings or another dataset.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "app/engine/core/engine.h"
#include "app/engine/testing/fake_model.h"
#include "app/eval/predictions.h"
#include "app/eval/report.h"
#include "app/eval/runner.h"
#include "kernels/core/error.h"
#include "kernels/core/json.h"
#include "tests/support/test_util.h"

namespace mvl::eval {
namespace {

namespace fs = std::filesystem;
using json::Json;

struct Fixture {
  std::string dir = test::temp_dir("eval_run");
  std::shared_ptr<engine::testing::FakeStats> stats = std::make_shared<engine::testing::FakeStats>();
  std::unique_ptr<engine::Engine> eng;

  explicit Fixture(engine::testing::FakeOptions o = {}) {
    eng = std::make_unique<engine::Engine>(engine::testing::make_fake_model(o, stats), engine::EngineOptions{}, 5.0);
  }

  std::string image(const std::string& name, int64_t w = 40, int64_t h = 30) {
    const std::string p = dir + "/" + name;
    engine::testing::write_fake_image(p, w, h);
    return p;
  }

  // n DocVQA items, each on its own fake image; item `missing` (if >= 0) names a file that
  // does not exist.
  Dataset docvqa(int n, int missing = -1) {
    Dataset ds;
    ds.task = Task::docvqa;
    ds.path = dir + "/fake.jsonl";
    ds.format = "jsonl";
    for (int i = 0; i < n; ++i) {
      Item it;
      it.id = fmt::format("q{}", i);
      it.question = fmt::format("Question number {}?", i);
      it.images = {i == missing ? dir + "/absent.png" : image(fmt::format("img{}.fake", i), 40 + i, 30)};
      it.answers = {fmt::format("answer {}", i), "alt"};
      it.where = fmt::format("fake.jsonl:{}", i + 1);
      ds.items.push_back(it);
    }
    return ds;
  }

  RunConfig config(const std::string& out, int64_t limit = 0) const {
    RunConfig c;
    c.task = Task::docvqa;
    c.generation.max_tokens = 6;
    c.limit = limit;
    c.output_dir = out;
    c.model = describe_model(*eng);
    return c;
  }
};

std::vector<Json> lines_of(const std::string& path) { return read_predictions(path).records; }

TEST(EvalRecords, FileHashIsFnv1a64) {
  const std::string d = test::temp_dir("eval_hash");
  test::write_text(d + "/a", "a");
  test::write_text(d + "/empty", "");
  EXPECT_EQ(file_fnv1a64(d + "/a"), "af63dc4c8601ec8c");      // the published FNV-1a test vector
  EXPECT_EQ(file_fnv1a64(d + "/empty"), "cbf29ce484222325");  // the offset basis
  EXPECT_THROW(file_fnv1a64(d + "/absent"), Error);
}

TEST(EvalRunner, WritesRecordsAndReportsThatAgree) {
  Fixture f;
  const Dataset ds = f.docvqa(3);
  const std::string out = f.dir + "/out";
  const RunResult r = run_eval(*f.eng, ds, f.config(out));
  EXPECT_EQ(r.ran, 3u);
  EXPECT_FALSE(r.interrupted);
  for (const char* name : {"predictions.jsonl", "summary.json", "summary.md", "submission.json", "run.json"})
    EXPECT_TRUE(fs::exists(out + "/" + name)) << name;

  const auto recs = lines_of(r.predictions_path);
  ASSERT_EQ(recs.size(), 3u);
  double sum = 0;
  for (size_t i = 0; i < recs.size(); ++i) {
    const Json& rec = recs[i];
    EXPECT_EQ(rec["id"], ds.items[i].id);  // dataset order
    EXPECT_EQ(rec["index"], i);
    EXPECT_TRUE(rec["error"].is_null());
    EXPECT_EQ(rec["prompt"], build_prompt(Task::docvqa, Protocol::short_answer, ds.items[i]));
    EXPECT_EQ(rec["finish_reason"], "max_tokens");
    EXPECT_EQ(rec["usage"]["completion_tokens"], 6);
    EXPECT_GT(rec["usage"]["image_tokens"].get<int64_t>(), 0);
    // The stored scores are the metric applied to the stored response.
    const Json rescored = score_response(Task::docvqa, Protocol::short_answer, ds.items[i], rec["response"]);
    EXPECT_EQ(rec["scores"], rescored["scores"]);
    sum += rec["scores"]["anls"].get<double>();
    ASSERT_EQ(rec["image_fnv1a64"].size(), 1u);
    EXPECT_EQ(rec["image_fnv1a64"][0], file_fnv1a64(ds.items[i].images[0]));
  }
  EXPECT_NE(recs[0]["image_fnv1a64"], recs[1]["image_fnv1a64"]);  // the fake images differ in width
  EXPECT_EQ(f.stats->images_encoded.load(), 3);

  const Json s = json::parse_file(r.summary_path);
  EXPECT_EQ(s, r.summary);
  EXPECT_EQ(s["task"], "docvqa");
  EXPECT_EQ(s["metric"], "anls");
  EXPECT_NEAR(s["score"].get<double>(), sum / 3, 1e-12);
  EXPECT_EQ(s["done"], 3);
  EXPECT_EQ(s["selected"], 3);
  EXPECT_EQ(s["errors"], 0);
  EXPECT_TRUE(s["complete"].get<bool>());
  EXPECT_EQ(s["tokens"]["completion"], 18);
  EXPECT_GT(s["timings"]["images_per_s"].get<double>(), 0);
  EXPECT_GT(s["timings"]["prefill_tokens_per_s"].get<double>(), 0);
  EXPECT_EQ(s["timings"]["load_ms"], 5.0);
  EXPECT_EQ(s["generation"]["max_tokens"], 6);

  const std::string md = test::read_text(r.markdown_path);
  EXPECT_NE(md.find("| task | protocol | anls | n | errors"), std::string::npos) << md;
  EXPECT_NE(md.find("| docvqa | short |"), std::string::npos) << md;

  const Json sub = json::parse_file(out + "/submission.json");
  ASSERT_EQ(sub.size(), 3u);
  EXPECT_EQ(sub[1]["questionId"], "q1");
  EXPECT_EQ(sub[1]["answer"], recs[1]["extracted"]);
}

TEST(EvalRunner, MissingImageIsRecordedAndRetriedOnResume) {
  Fixture f;
  Dataset ds = f.docvqa(3, /*missing=*/1);
  const std::string out = f.dir + "/out";
  const RunResult r = run_eval(*f.eng, ds, f.config(out));
  EXPECT_EQ(r.ran, 3u);  // the failure did not stop the run
  auto recs = lines_of(r.predictions_path);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[1]["error"]["phase"], "input");
  EXPECT_NE(recs[1]["error"]["message"].get<std::string>().find("absent.png"), std::string::npos);
  EXPECT_TRUE(recs[1]["response"].is_null());
  EXPECT_TRUE(recs[1]["image_fnv1a64"].is_null());
  EXPECT_TRUE(recs[2]["error"].is_null());
  EXPECT_EQ(r.summary["errors"], 1);
  // Errors count as 0 in the headline and are left out of the other mean.
  const double a0 = recs[0]["scores"]["anls"].get<double>(), a2 = recs[2]["scores"]["anls"].get<double>();
  EXPECT_NEAR(r.summary["score"].get<double>(), (a0 + a2) / 3, 1e-12);
  EXPECT_NEAR(r.summary["scores"]["anls_excluding_errors"].get<double>(), (a0 + a2) / 2, 1e-12);

  // The image appears; --resume runs only the failed item again.
  engine::testing::write_fake_image(ds.items[1].images[0], 50, 50);
  RunConfig c = f.config(out);
  c.resume = true;
  const RunResult r2 = run_eval(*f.eng, ds, c);
  EXPECT_EQ(r2.ran, 1u);
  EXPECT_EQ(r2.skipped, 2u);
  EXPECT_EQ(r2.retried, 1u);
  recs = lines_of(r2.predictions_path);
  ASSERT_EQ(recs.size(), 3u);
  for (const auto& rec : recs) EXPECT_TRUE(rec["error"].is_null()) << rec.dump();
  EXPECT_EQ(r2.summary["errors"], 0);
}

TEST(EvalRunner, LimitThenResumeRunsOnlyTheNewItems) {
  Fixture f;
  const Dataset ds = f.docvqa(5);
  const std::string out = f.dir + "/out";
  const RunResult r1 = run_eval(*f.eng, ds, f.config(out, 2));
  EXPECT_EQ(r1.ran, 2u);
  EXPECT_EQ(r1.summary["done"], 2);
  EXPECT_EQ(r1.summary["selected"], 2);
  const int64_t encoded = f.stats->images_encoded.load();

  // Without --resume an existing run is not touched.
  EXPECT_THROW(run_eval(*f.eng, ds, f.config(out, 4)), Error);
  EXPECT_EQ(lines_of(r1.predictions_path).size(), 2u);

  RunConfig c = f.config(out, 4);
  c.resume = true;
  const RunResult r2 = run_eval(*f.eng, ds, c);
  EXPECT_EQ(r2.ran, 2u);
  EXPECT_EQ(r2.skipped, 2u);
  EXPECT_EQ(f.stats->images_encoded.load() - encoded, 2);
  const auto recs = lines_of(r2.predictions_path);
  ASSERT_EQ(recs.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(recs[i]["id"], ds.items[i].id);
  EXPECT_EQ(r2.summary["done"], 4);
  EXPECT_TRUE(r2.summary["complete"].get<bool>());

  // --overwrite starts from nothing.
  RunConfig o = f.config(out, 1);
  o.overwrite = true;
  EXPECT_EQ(run_eval(*f.eng, ds, o).ran, 1u);
  EXPECT_EQ(lines_of(r2.predictions_path).size(), 1u);
}

TEST(EvalRunner, ResumeRefusesOtherSettingsOrAnotherDataset) {
  Fixture f;
  const Dataset ds = f.docvqa(2);
  const std::string out = f.dir + "/out";
  run_eval(*f.eng, ds, f.config(out, 1));
  RunConfig c = f.config(out);
  c.resume = true;
  c.generation.max_tokens = 7;
  try {
    run_eval(*f.eng, ds, c);
    FAIL() << "resume with another max_tokens must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("generation"), std::string::npos) << e.what();
  }
  Dataset other = f.docvqa(2);
  for (auto& it : other.items) it.id = "other-" + it.id;
  c.generation.max_tokens = 6;
  EXPECT_THROW(run_eval(*f.eng, other, c), Error);
  EXPECT_EQ(run_eval(*f.eng, ds, c).ran, 1u);  // the same settings go on
}

TEST(EvalRunner, TornLastLineIsDroppedOnResume) {
  Fixture f;
  const Dataset ds = f.docvqa(3);
  const std::string out = f.dir + "/out";
  run_eval(*f.eng, ds, f.config(out, 2));
  {
    std::ofstream app(out + "/predictions.jsonl", std::ios::app);
    app << "{\"id\": \"q2\", \"respo";  // a crash mid-write
  }
  RunConfig c = f.config(out);
  c.resume = true;
  const RunResult r = run_eval(*f.eng, ds, c);
  EXPECT_EQ(r.ran, 1u);
  EXPECT_EQ(lines_of(r.predictions_path).size(), 3u);

  // A malformed line that is not the last is an error naming the line.
  test::write_text(out + "/predictions.jsonl", "not json\n{\"id\": \"q0\"}\n");
  try {
    run_eval(*f.eng, ds, c);
    FAIL() << "a malformed middle line must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("predictions.jsonl:1"), std::string::npos) << e.what();
  }
}

TEST(EvalRunner, StopCancelsTheRunningItemAndKeepsFinishedOnes) {
  engine::testing::FakeOptions o;
  o.decode_delay_ms = 5;
  Fixture f(o);
  const Dataset ds = f.docvqa(4);
  const std::string out = f.dir + "/out";
  RunConfig c = f.config(out);
  c.generation.max_tokens = 100;  // ~0.5 s per item: a stop can land mid-generation
  std::atomic<bool> stop{false};
  std::atomic<int> progress_calls{0};
  c.on_progress = [&](const Progress& p) {
    ++progress_calls;
    EXPECT_EQ(p.selected, 4u);
    EXPECT_GE(p.eta_s, 0);
    stop = true;  // "Ctrl+C" right after the first item
  };
  c.stop_requested = [&] { return stop.load(); };
  const RunResult r = run_eval(*f.eng, ds, c);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.ran, 1u);
  EXPECT_EQ(progress_calls.load(), 1);
  EXPECT_EQ(lines_of(r.predictions_path).size(), 1u);
  EXPECT_TRUE(r.summary["interrupted"].get<bool>());
  EXPECT_FALSE(r.summary["complete"].get<bool>());
  EXPECT_NE(test::read_text(r.markdown_path).find("--resume"), std::string::npos);

  // Mid-item stop: the cancelled item is not recorded.
  stop = false;
  RunConfig c2 = f.config(out);
  c2.generation.max_tokens = 100;
  c2.resume = true;
  const double t0 = engine::now_ms();
  c2.stop_requested = [&] { return engine::now_ms() - t0 > 150; };
  const RunResult r2 = run_eval(*f.eng, ds, c2);
  EXPECT_TRUE(r2.interrupted);
  EXPECT_EQ(r2.ran, 0u);
  EXPECT_EQ(lines_of(r2.predictions_path).size(), 1u);
}

TEST(EvalRunner, Ai2dRecordsCarryTheExtractedLetter) {
  Fixture f;
  Dataset ds;
  ds.task = Task::ai2d;
  ds.path = f.dir + "/ai2d.jsonl";
  ds.format = "jsonl";
  for (int i = 0; i < 2; ++i) {
    Item it;
    it.id = fmt::format("a{}", i);
    it.question = "Which one?";
    it.images = {f.image(fmt::format("d{}.fake", i))};
    it.options = {"sun", "moon", "star"};
    it.answer_index = i;
    ds.items.push_back(it);
  }
  RunConfig c = f.config(f.dir + "/out");
  c.task = Task::ai2d;
  const RunResult r = run_eval(*f.eng, ds, c);
  const auto recs = lines_of(r.predictions_path);
  ASSERT_EQ(recs.size(), 2u);
  double correct = 0;
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(recs[i]["target"]["answer"], std::string(1, static_cast<char>('A' + i)));
    EXPECT_TRUE(recs[i].contains("extraction_rule"));
    const Json again = score_response(Task::ai2d, Protocol::short_answer, ds.items[i], recs[i]["response"]);
    EXPECT_EQ(recs[i]["extracted"], again["extracted"]);
    correct += recs[i]["scores"]["accuracy"].get<double>();
  }
  EXPECT_EQ(r.summary["metric"], "accuracy");
  EXPECT_NEAR(r.summary["score"].get<double>(), correct / 2, 1e-12);
  EXPECT_FALSE(fs::exists(f.dir + "/out/submission.json"));  // DocVQA only
}

}  // namespace
}  // namespace mvl::eval
