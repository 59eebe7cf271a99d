// parse_chat_request (the pure body parser) and its helpers: base64, the OpenAI response
// shapes, transcript matching for the session cache, Prometheus rendering.
#include <gtest/gtest.h>

#include "app/server/api_error.h"
#include "app/server/chat_request.h"
#include "app/server/metrics.h"
#include "app/server/openai_json.h"
#include "app/server/session_cache.h"

namespace mvl::server {
namespace {

ParseLimits limits() {
  return ParseLimits{};
}

// The ApiError a body is refused with (fails the test if it parses).
ApiError refusal(const std::string& body, ParseLimits l = ParseLimits{}) {
  try {
    parse_chat_request(body, l);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body;
  return ApiError(0, "", "", "");
}

TEST(Base64, DecodesStandardAlphabetWithAndWithoutPadding) {
  auto s = [](const std::optional<std::vector<uint8_t>>& v) {
    return v ? std::string(v->begin(), v->end()) : std::string("<invalid>");
  };
  EXPECT_EQ(s(decode_base64("aGVsbG8=")), "hello");
  EXPECT_EQ(s(decode_base64("aGVsbG8")), "hello");
  EXPECT_EQ(s(decode_base64("aGVs\nbG8h")), "hello!");
  EXPECT_EQ(s(decode_base64("")), "");
  EXPECT_EQ(s(decode_base64("+/+/")), std::string("\xfb\xff\xbf", 3));
  EXPECT_FALSE(decode_base64("aGVsbG8*"));
  EXPECT_FALSE(decode_base64("a"));         // 6 bits cannot be a byte
  EXPECT_FALSE(decode_base64("aGVs=bG8"));  // data after padding
  EXPECT_FALSE(decode_base64("aGVsbG9="));  // non-canonical trailing bits
}

TEST(ChatRequest, TextConversationAndSamplingFields) {
  const ChatRequest r = parse_chat_request(R"({
    "model": "m", "stream": true, "stream_options": {"include_usage": true},
    "messages": [{"role": "system", "content": "be brief"},
                 {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                 {"role": "assistant", "content": "hello"},
                 {"role": "user", "content": "again"}],
    "max_tokens": 7, "max_completion_tokens": 9, "temperature": 0.5, "top_p": 0.9,
    "seed": 42, "stop": ["\n\n", "END"], "n": 1, "frequency_penalty": 0, "user": "x"})",
                                           limits());
  EXPECT_EQ(r.model, "m");
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[0].role, engine::Role::system);
  EXPECT_EQ(r.messages[1].parts[0].text, "hi");
  EXPECT_EQ(r.messages[2].role, engine::Role::assistant);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.max_tokens, 9);  // max_completion_tokens wins
  EXPECT_FLOAT_EQ(*r.temperature, 0.5f);
  EXPECT_FLOAT_EQ(*r.top_p, 0.9f);
  EXPECT_EQ(r.seed, 42u);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n\n", "END"}));
  const ChatRequest d =
      parse_chat_request(R"({"messages":[{"role":"user","content":"x"}],"stop":"S"})", limits());
  EXPECT_FALSE(d.stream);
  EXPECT_FALSE(d.max_tokens);
  EXPECT_FALSE(d.temperature);
  EXPECT_EQ(d.stop, std::vector<std::string>{"S"});
}

TEST(ChatRequest, ImagesFromDataUrlsAndPaths) {
  const ChatRequest r = parse_chat_request(R"({"messages":[{"role":"user","content":[
      {"type":"image_url","image_url":{"url":"data:image/png;base64,aGVsbG8="}},
      {"type":"image_url","image_url":{"url":"file:///srv/a.jpg","detail":"high"}},
      {"type":"image_url","image_url":"/srv/b.webp"},
      {"type":"text","text":"compare"}]}]})",
                                           limits());
  ASSERT_EQ(r.messages[0].parts.size(), 4u);
  EXPECT_EQ(r.num_images, 3);
  const auto& p = r.messages[0].parts;
  EXPECT_EQ(p[0].image.source, ImageInput::Source::data_url);
  EXPECT_EQ(std::string(p[0].image.bytes.begin(), p[0].image.bytes.end()), "hello");
  EXPECT_EQ(p[1].image.path, "/srv/a.jpg");
  EXPECT_EQ(p[2].image.path, "/srv/b.webp");
  EXPECT_FALSE(p[3].is_image);
}

TEST(ChatRequest, RefusalsNameTheField) {
  EXPECT_EQ(refusal("{not json").code, "invalid_json");
  EXPECT_EQ(refusal("[1,2]").status, 400);
  EXPECT_EQ(refusal(R"({"messages":[]})").param, "messages");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"x"}],"n":2})").param, "n");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"x"}],"temperature":3})").param,
            "temperature");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"x"}],"top_p":0})").param, "top_p");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})").param,
            "max_tokens");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":"5"})").param,
            "max_tokens");
  EXPECT_EQ(
      refusal(R"({"messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]})").param,
      "stop");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"x"}],"stop":[""]})").param, "stop");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]})")
                .param,
            "tools");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"assistant","content":"x"}]})").param, "messages");
  EXPECT_EQ(
      refusal(
          R"({"messages":[{"role":"user","content":"x"},{"role":"system","content":"s"},{"role":"user","content":"y"}]})")
          .param,
      "messages[1].role");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"tool","content":"x"}]})").param, "messages[0].role");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user"}]})").param, "messages[0].content");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":[{"type":"input_audio"}]}]})").param,
            "messages[0].content[0].type");
  EXPECT_EQ(
      refusal(
          R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/a.png"}}]}]})")
          .code,
      "remote_url_refused");
  EXPECT_EQ(
      refusal(
          R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/gif;base64,R0lG"}}]}]})")
          .code,
      "unsupported_image_type");
  EXPECT_EQ(
      refusal(
          R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,@@@@"}}]}]})")
          .param,
      "messages[0].content[0].image_url");
  EXPECT_EQ(
      refusal(
          R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"relative.png"}}]}]})")
          .status,
      400);
  ParseLimits one;
  one.max_images = 1;
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":[
      {"type":"image_url","image_url":{"url":"/a.png"}},{"type":"image_url","image_url":{"url":"/b.png"}}]}]})",
                    one)
                .code,
            "too_many_images");
}

TEST(OpenAiJson, ShapesAndFinishReasons) {
  engine::DoneEvent d;
  d.reason = engine::StopReason::max_tokens;
  d.text = "abc";
  d.usage.prompt_tokens = 10;
  d.usage.completion_tokens = 3;
  const CompletionIds ids{"chatcmpl-1", 123, "m"};
  const auto j = completion_json(ids, d, 5);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "abc");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 15);
  EXPECT_EQ(j["usage"]["total_tokens"], 18);
  EXPECT_EQ(j["usage"]["prompt_tokens_details"]["cached_tokens"], 5);
  EXPECT_STREQ(finish_reason(engine::StopReason::eos), "stop");
  EXPECT_STREQ(finish_reason(engine::StopReason::stop_string), "stop");
  EXPECT_STREQ(finish_reason(engine::StopReason::context_full), "length");
  const auto c = chunk_json(ids, std::nullopt, std::string("\xff"), std::nullopt);
  EXPECT_TRUE(c["choices"][0]["finish_reason"].is_null());
  const std::string line = sse(c);  // invalid UTF-8 from a model never throws
  EXPECT_EQ(line.rfind("data: {", 0), 0u);
  EXPECT_EQ(line.substr(line.size() - 2), "\n\n");
  const auto e = error_json(bad_request("bad", "n"));
  EXPECT_EQ(e["error"]["param"], "n");
  EXPECT_EQ(e["error"]["type"], "invalid_request_error");
}

TEST(SessionCache, MatchesExactTranscriptsOnly) {
  using engine::ContentPart;
  using engine::Message;
  std::vector<Message> a(1);
  a[0].role = engine::Role::system;
  a[0].parts.push_back(ContentPart::make_text("sys"));
  auto b = a;
  EXPECT_TRUE(same_transcript(a, b));
  b[0].parts[0].text = "other";
  EXPECT_FALSE(same_transcript(a, b));
  auto c = a;
  c[0].parts.push_back(ContentPart::make_image("data-url#1"));
  auto d = c;
  EXPECT_TRUE(same_transcript(c, d));
  d[0].parts[1].image_path = "data-url#2";
  EXPECT_FALSE(same_transcript(c, d));

  SessionCache cache(2);
  auto s1 = std::make_shared<engine::Session>("one");
  auto s2 = std::make_shared<engine::Session>("two");
  auto s3 = std::make_shared<engine::Session>("three");
  cache.put(s1);
  cache.put(s2);
  cache.put(s3);  // evicts s1, the least recent
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.take(s1->messages()), nullptr);
  EXPECT_EQ(cache.take(s2->messages()), s2);
  EXPECT_EQ(cache.take(s2->messages()), nullptr);  // taken: no longer shared
  EXPECT_EQ(cache.size(), 1u);
  SessionCache off(0);
  off.put(s1);
  EXPECT_EQ(off.size(), 0u);
}

TEST(Metrics, PrometheusText) {
  Metrics m;
  m.request("/v1/chat/completions", 200);
  m.request("/v1/chat/completions", 200);
  m.finished("stop", 10, 5, 0.2, 0.01);
  const std::string t = m.render(1, 2, 4, 0);
  EXPECT_NE(t.find("mvl_http_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 2"),
            std::string::npos);
  EXPECT_NE(t.find("mvl_completion_tokens_total 5"), std::string::npos);
  EXPECT_NE(t.find("mvl_queue_depth 2"), std::string::npos);
  EXPECT_NE(t.find("mvl_time_to_first_token_seconds_bucket{le=\"0.25\"} 1"), std::string::npos);
  EXPECT_NE(t.find("mvl_time_to_first_token_seconds_bucket{le=\"0.1\"} 0"), std::string::npos);
  EXPECT_NE(t.find("mvl_time_to_first_token_seconds_count 1"), std::string::npos);
}

}  // namespace
}  // namespace mvl::server
