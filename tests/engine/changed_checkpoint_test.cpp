// Issue 14: a shard truncated or rewritten while the model is loaded (a re-download, `cp`
// over it) killed the process with a bare SIGBUS and lost the conversation. Now the next
// request fails with one error naming the file, and the session keeps its transcript.
#include <gtest/gtest.h>

#include <filesystem>

#include "app/engine/core/engine.h"
#include "tests/support/test_util.h"

namespace mvl::engine {
namespace {

namespace fs = std::filesystem;

RequestHandle ask(Engine& e, const std::shared_ptr<Session>& s, const std::string& text) {
  Request r;
  r.session = s;
  r.content = {ContentPart::make_text(text)};
  r.options.max_tokens = 3;
  RequestHandle h = e.submit(std::move(r));
  h.wait();
  return h;
}

TEST(ChangedCheckpoint, TruncatedShardFailsTheNextRequestNamingTheFile) {
  const std::string dir = test::temp_dir("changed_ckpt") + "/m";
  fs::copy(test::source_path("assets/models/tiny-random"), dir, fs::copy_options::recursive);
  EngineOptions o;
  o.model_dir = dir;
  auto e = Engine::open(o);
  auto s = e->new_session("");
  const RequestHandle ok = ask(*e, s, "hello");
  ASSERT_FALSE(ok.error()) << ok.error()->error.what();
  const size_t kept = s->messages().size();

  const std::string shard = dir + "/model-00001-of-00002.safetensors";
  fs::resize_file(shard, 0);  // what `truncate -s 0` does
  const RequestHandle bad = ask(*e, s, "again");
  ASSERT_TRUE(bad.error());
  const std::string what = bad.error()->error.what();
  EXPECT_NE(what.find(shard), std::string::npos) << what;
  EXPECT_NE(what.find("truncated or rewritten"), std::string::npos) << what;
  EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  EXPECT_EQ(s->messages().size(), kept);  // the conversation survives (it can still be saved)
}

}  // namespace
}  // namespace mvl::engine
