// `minimax-vl serve` end to end with curl on the bundled tiny model: health/models/metrics,
// non-streaming and SSE streaming (same greedy text), images as data: URLs, refusals with
// OpenAI error objects (401, 400, 404, 413, 503), 16 concurrent clients, a client leaving
// mid-stream frees its slot, prefix reuse across turns, SIGTERM -> exit 0.
#include <future>

#include "tests/server/serve_harness.h"

namespace mvl {
namespace {

using Json = nlohmann::json;
using test::curl;
using test::ServeProcess;

std::string b64(const std::string& bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v =
        (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += k[(v >> s) & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Json image_part(const std::string& sample) {
  const std::string png = test::read_text(test::source_path("assets/samples/" + sample));
  return Json{{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64," + b64(png)}}}};
}

Json chat(const std::string& text, int max_tokens, bool stream = false) {
  Json j = {{"model", "tiny-random"},
            {"messages", Json::array({{{"role", "user"}, {"content", text}}})},
            {"max_tokens", max_tokens}};
  if (stream) j["stream"] = true;
  return j;
}

void expect_error(const test::HttpResult& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.body;
  const Json j = Json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body;
  EXPECT_TRUE(j["error"]["message"].is_string());
  EXPECT_TRUE(j["error"]["type"].is_string());
  if (!code.empty()) {
    EXPECT_EQ(j["error"]["code"], code) << r.body;
  }
}

// Polls /health until `active` reaches 0 (bounded).
bool wait_idle(const ServeProcess& s, int timeout_ms) {
  for (int t = 0; t < timeout_ms; t += 100) {
    const auto h = curl(s.url("/health"));
    if (h.status == 200 && h.json()["active"] == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST(ServeHttp, HealthModelsMetricsAnd404) {
  ServeProcess s;
  ASSERT_GT(s.port(), 0) << s.stderr_text();
  const auto h = curl(s.url("/health"));
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.json()["status"], "ok");
  const auto m = curl(s.url("/v1/models"));
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.json()["object"], "list");
  EXPECT_EQ(m.json()["data"][0]["id"], "tiny-random");
  const auto mt = curl(s.url("/metrics"));
  EXPECT_EQ(mt.status, 200);
  EXPECT_NE(mt.body.find("# TYPE mvl_time_to_first_token_seconds histogram"), std::string::npos);
  EXPECT_NE(mt.body.find("mvl_queue_depth 0"), std::string::npos);
  expect_error(curl(s.url("/v1/nothing")), 404, "not_found");
  EXPECT_EQ(s.stop(SIGTERM, 20000), 0);
}

TEST(ServeHttp, NonStreamingAndStreamingAgree) {
  ServeProcess s;
  ASSERT_GT(s.port(), 0) << s.stderr_text();
  const auto r = curl(s.url("/v1/chat/completions"), chat("Name three colours.", 8).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const Json j = r.json();
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  const std::string text = j["choices"][0]["message"]["content"];
  EXPECT_EQ(j["usage"]["completion_tokens"], 8);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 5);

  Json sreq = chat("Name three colours.", 8, true);
  sreq["stream_options"] = {{"include_usage", true}};
  const auto st = curl(s.url("/v1/chat/completions"), sreq.dump());
  ASSERT_EQ(st.status, 200) << st.body;
  const auto events = test::sse_data(st.body);
  ASSERT_GE(events.size(), 4u) << st.body;
  EXPECT_EQ(events.back(), "[DONE]");
  const Json first = Json::parse(events[0]);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  std::string streamed;
  std::string finish;
  Json usage;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const Json c = Json::parse(events[i]);
    if (c.contains("usage")) usage = c["usage"];
    if (c["choices"].empty()) continue;
    const Json& d = c["choices"][0]["delta"];
    if (d.contains("content")) streamed += d["content"].get<std::string>();
    if (!c["choices"][0]["finish_reason"].is_null()) finish = c["choices"][0]["finish_reason"];
  }
  EXPECT_EQ(streamed, text);  // greedy: the same answer both ways
  EXPECT_EQ(finish, "length");
  ASSERT_TRUE(usage.is_object()) << st.body;
  EXPECT_EQ(usage["completion_tokens"], 8);
  EXPECT_EQ(s.stop(SIGTERM, 20000), 0);
}

TEST(ServeHttp, ImagesAsDataUrls) {
  ServeProcess s;
  ASSERT_GT(s.port(), 0) << s.stderr_text();
  auto with_images = [&](std::vector<std::string> samples) {
    Json content = Json::array();
    for (const auto& name : samples) content.push_back(image_part(name));
    content.push_back({{"type", "text"}, {"text", "What is in the picture?"}});
    Json j = {{"messages", Json::array({{{"role", "user"}, {"content", content}}})},
              {"max_tokens", 4}};
    return curl(s.url("/v1/chat/completions"), j.dump());
  };
  const auto none = with_images({});
  const auto one = with_images({"chart.png"});
  const auto two = with_images({"chart.png", "table.png"});
  ASSERT_EQ(none.status, 200) << none.body;
  ASSERT_EQ(one.status, 200) << one.body;
  ASSERT_EQ(two.status, 200) << two.body;
  const int p0 = none.json()["usage"]["prompt_tokens"], p1 = one.json()["usage"]["prompt_tokens"],
            p2 = two.json()["usage"]["prompt_tokens"];
  EXPECT_GT(p1, p0 + 10);  // the image's embedding rows are part of the prompt
  EXPECT_GT(p2, p1 + 10);
  // Refusals: a remote URL, a bad payload, a non-image.
  Json remote = {
      {"messages",
       Json::array({{{"role", "user"},
                     {"content",
                      Json::array({{{"type", "image_url"},
                                    {"image_url", {{"url", "https://example.com/a.png"}}}}})}}})}};
  expect_error(curl(s.url("/v1/chat/completions"), remote.dump()), 400, "remote_url_refused");
  Json junk = remote;
  junk["messages"][0]["content"][0]["image_url"]["url"] =
      "data:image/png;base64," + b64("not a png at all");
  expect_error(curl(s.url("/v1/chat/completions"), junk.dump()), 400, "invalid_image");
  Json local = remote;
  local["messages"][0]["content"][0]["image_url"]["url"] =
      "file://" + test::source_path("assets/samples/chart.png");
  expect_error(curl(s.url("/v1/chat/completions"), local.dump()), 400, "local_file_refused");
  EXPECT_EQ(s.stop(SIGTERM, 20000), 0);
}

TEST(ServeHttp, LocalFilesOnlyUnderAllowedPath) {
  ServeProcess s(
      {"--allowed-media-path", test::source_path("assets/samples"), "--max-images", "2"});
  ASSERT_GT(s.port(), 0) << s.stderr_text();
  auto ask = [&](std::vector<std::string> urls) {
    Json content = Json::array();
    for (const auto& u : urls)
      content.push_back({{"type", "image_url"}, {"image_url", {{"url", u}}}});
    content.push_back({{"type", "text"}, {"text", "Describe."}});
    Json j = {{"messages", Json::array({{{"role", "user"}, {"content", content}}})},
              {"max_tokens", 2}};
    return curl(s.url("/v1/chat/completions"), j.dump());
  };
  const auto ok = ask({"file://" + test::source_path("assets/samples/chart.png")});
  EXPECT_EQ(ok.status, 200) << ok.body;
  expect_error(ask({test::source_path("assets/samples/../models/tiny-random/config.json")}), 400,
               "local_file_refused");
  expect_error(ask({test::source_path("assets/samples/missing.png")}), 400, "image_not_found");
  const std::string c = "file://" + test::source_path("assets/samples/chart.png");
  expect_error(ask({c, c, c}), 400, "too_many_images");
  EXPECT_EQ(s.stop(SIGTERM, 20000), 0);
}

TEST(ServeHttp, ApiKeyRequired) {
  ServeProcess s({"--api-key", "sekrit"});
  ASSERT_GT(s.port(), 0) << s.stderr_text();
  const std::string body = chat("hi", 2).dump();
  expect_error(curl(s.url("/v1/chat/completions"), body), 401, "invalid_api_key");
  expect_error(curl(s.url("/v1/chat/completions"), body, {"-H", "Authorization: Bearer wrong"}),
               401, "invalid_api_key");
  expect_error(curl(s.url("/v1/models")), 401, "invalid_api_key");
  EXPECT_EQ(curl(s.url("/health")).status, 200);  // health stays open for load balancers
  const auto ok = curl(s.url("/v1/chat/completions"), body, {"-H", "Authorization: Bearer sekrit"});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(s.stop(SIGTERM, 20000), 0);
}

TEST(ServeHttp, MalformedAndOversizedBodies) {
  ServeProcess s({"--max-body-mb", "1"});
  ASSERT_GT(s.port(), 0) << s.stderr_text();
  expect_error(curl(s.url("/v1/chat/completions"), "{\"messages\": [ {\"role\": "), 400,
               "invalid_json");
  expect_error(curl(s.url("/v1/chat/completions"), "{\"messages\": []}"), 400, "invalid_request");
  Json n2 = chat("hi", 2);
  n2["n"] = 2;
  const auto r = curl(s.url("/v1/chat/completions"), n2.dump());
  expect_error(r, 400, "invalid_request");
  EXPECT_EQ(r.json()["error"]["param"], "n");
  const std::string big = chat(std::string(2 << 20, 'a'), 2).dump();
  expect_error(curl(s.url("/v1/chat/completions"), big), 413, "request_too_large");
  // Still serving after the refusals.
  EXPECT_EQ(curl(s.url("/v1/chat/completions"), chat("hi", 2).dump()).status, 200);
  EXPECT_EQ(s.stop(SIGTERM, 20000), 0);
}

TEST(ServeHttp, SixteenConcurrentClientsAllAnswered) {
  ServeProcess s({"--parallel", "4", "--queue", "16"});
  ASSERT_GT(s.port(), 0) << s.stderr_text();
  std::vector<std::future<test::HttpResult>> fs;
  for (int i = 0; i < 16; ++i) {
    fs.push_back(std::async(std::launch::async, [&, i] {
      return curl(s.url("/v1/chat/completions"),
                  chat("Question number " + std::to_string(i), 6, i % 2 == 1).dump());
    }));
  }
  int ok = 0;
  for (int i = 0; i < 16; ++i) {
    const auto r = fs[i].get();
    EXPECT_EQ(r.status, 200) << r.body;
    if (i % 2 == 0)
      ok += r.status == 200 && r.json()["usage"]["completion_tokens"] == 6;
    else
      ok += r.status == 200 && test::sse_data(r.body).back() == "[DONE]";
  }
  EXPECT_EQ(ok, 16);
  EXPECT_TRUE(wait_idle(s, 10000));
  EXPECT_EQ(s.stop(SIGTERM, 20000), 0);
}

// Starts a long stream with curl, reads until `n` data events arrived; returns curl's pid.
pid_t start_stream(const ServeProcess& s, int max_tokens, int n, std::string* seen, int* out_fd) {
  const std::string dir = test::temp_dir("stream");
  test::write_text(dir + "/req", chat("Tell me a long story.", max_tokens, true).dump());
  int fd = -1;
  const pid_t pid =
      test::spawn({"curl", "-sS", "-N", "--max-time", "120", "-H", "Content-Type: application/json",
                   "--data-binary", "@" + dir + "/req", s.url("/v1/chat/completions")},
                  "", dir + "/err", &fd);
  std::string buf;
  char tmp[4096];
  int events = 0;
  while (events < n) {
    const ssize_t k = ::read(fd, tmp, sizeof(tmp));
    if (k <= 0) break;
    buf.append(tmp, static_cast<size_t>(k));
    events = static_cast<int>(test::sse_data(buf).size());
  }
  *out_fd = fd;  // kept open: closing it would make curl die of SIGPIPE, i.e. leave early
  if (seen) *seen = buf;
  return pid;
}

TEST(ServeHttp, ClientLeavingMidStreamFreesItsSlot) {
  // One slot, no queue: while the long stream runs, a second request is refused (503); once
  // its client is killed the slot is free again, long before the stream could have ended.
  ServeProcess s({"--parallel", "1", "--queue", "0", "-c", "100000"});
  ASSERT_GT(s.port(), 0) << s.stderr_text();
  std::string seen;
  int fd = -1;
  const pid_t client = start_stream(s, 60000, 3, &seen, &fd);
  ASSERT_GE(test::sse_data(seen).size(), 3u) << seen;
  expect_error(curl(s.url("/v1/chat/completions"), chat("hi", 2).dump()), 503, "queue_full");
  ::kill(client, SIGKILL);
  test::wait_exit(client, 5000);
  ::close(fd);
  EXPECT_TRUE(wait_idle(s, 20000));
  const auto r = curl(s.url("/v1/chat/completions"), chat("hi", 2).dump());
  EXPECT_EQ(r.status, 200) << r.body;
  const auto m = curl(s.url("/metrics"));
  EXPECT_NE(m.body.find("mvl_completions_total{finish_reason=\"cancelled\"} 1"), std::string::npos)
      << m.body;
  EXPECT_EQ(s.stop(SIGTERM, 20000), 0);
}

TEST(ServeHttp, FollowUpTurnReusesTheConversation) {
  ServeProcess s;
  ASSERT_GT(s.port(), 0) << s.stderr_text();
  Json j = chat("First question, long enough to have a few tokens in it.", 5);
  const auto a = curl(s.url("/v1/chat/completions"), j.dump());
  ASSERT_EQ(a.status, 200) << a.body;
  j["messages"].push_back(
      {{"role", "assistant"}, {"content", a.json()["choices"][0]["message"]["content"]}});
  j["messages"].push_back({{"role", "user"}, {"content", "And a second one?"}});
  const auto b = curl(s.url("/v1/chat/completions"), j.dump());
  ASSERT_EQ(b.status, 200) << b.body;
  const Json u = b.json()["usage"];
  // The first turn (system + question + answer) came from the cache, not from a re-prefill.
  EXPECT_GT(u["prompt_tokens_details"]["cached_tokens"].get<int>(),
            a.json()["usage"]["prompt_tokens"].get<int>());
  // Only the owed ids, the new question and the generation prompt were prefilled: fewer
  // positions than the first turn's prompt alone.
  const int fresh =
      u["prompt_tokens"].get<int>() - u["prompt_tokens_details"]["cached_tokens"].get<int>();
  EXPECT_LT(fresh, a.json()["usage"]["prompt_tokens"].get<int>());
  // A different history does not hit it.
  j["messages"][1]["content"] = "something else";
  const auto c = curl(s.url("/v1/chat/completions"), j.dump());
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.json()["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
  EXPECT_EQ(s.stop(SIGTERM, 20000), 0);
}

TEST(ServeHttp, SigtermCancelsInFlightAndExitsZero) {
  ServeProcess s({"--shutdown-grace-ms", "300", "-c", "100000"});
  ASSERT_GT(s.port(), 0) << s.stderr_text();
  const std::string dir = test::temp_dir("sigterm");
  int fd = -1;
  test::write_text(dir + "/req", chat("Tell me a long story.", 60000, true).dump());
  const pid_t client =
      test::spawn({"curl", "-sS", "-N", "--max-time", "60", "-H", "Content-Type: application/json",
                   "--data-binary", "@" + dir + "/req", s.url("/v1/chat/completions")},
                  "", dir + "/err", &fd);
  std::string buf;
  char tmp[4096];
  while (test::sse_data(buf).size() < 3) {
    const ssize_t k = ::read(fd, tmp, sizeof(tmp));
    if (k <= 0) break;
    buf.append(tmp, static_cast<size_t>(k));
  }
  ASSERT_GE(test::sse_data(buf).size(), 3u) << buf;
  EXPECT_EQ(s.stop(SIGTERM, 30000), 0) << s.stderr_text();
  while (true) {  // the stream ends properly: a final chunk and [DONE]
    const ssize_t k = ::read(fd, tmp, sizeof(tmp));
    if (k <= 0) break;
    buf.append(tmp, static_cast<size_t>(k));
  }
  ::close(fd);
  test::wait_exit(client, 10000);
  const auto events = test::sse_data(buf);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back(), "[DONE]");
  const Json last = Json::parse(events[events.size() - 2]);
  EXPECT_EQ(last["choices"][0]["finish_reason"], "cancelled") << buf;
}

}  // namespace
}  // namespace mvl
