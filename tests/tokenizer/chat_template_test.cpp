// The MiniMax-VL-01 chat template: the spec §7.3 reference prompt byte for byte, and the
// other cases of §7.2-7.3 (several images, assistant turns, no generation prompt, plain-string
// content, function results, tools after the messages), plus tokenization of a rendered prompt.
#include <gtest/gtest.h>

#include <algorithm>

#include "kernels/core/error.h"
#include "llm/chat/chat_template.h"
#include "llm/tokenizer/tokenizer.h"
#include "tests/support/test_util.h"

namespace mvl::llm {
namespace {

ContentItem image() {
  return ContentItem{ContentItem::Kind::image, ""};
}
ContentItem text(std::string t) {
  return ContentItem{ContentItem::Kind::text, std::move(t)};
}

TEST(ChatTemplate, SpecReferencePrompt) {
  // spec §7.3, official example: system + user(image, text) + generation prompt.
  const std::vector<ChatMessage> msgs = {
      make_message("system",
                   "You are a helpful assistant created by MiniMax based on MiniMax-VL-01 model."),
      ChatMessage{"user", {image(), text("Describe this image.")}, ""},
  };
  const std::string want =
      "<beginning_of_sentence>system ai_setting=assistant\n"
      "You are a helpful assistant created by MiniMax based on MiniMax-VL-01 "
      "model.<end_of_sentence>\n"
      "<beginning_of_sentence>user name=user\n"
      "<image>Describe this image.<end_of_sentence>\n"
      "<beginning_of_sentence>ai name=assistant\n";
  EXPECT_EQ(render_chat(msgs, true), want);
}

TEST(ChatTemplate, MultipleImagesAndAssistantTurnsWithoutGenerationPrompt) {
  const std::vector<ChatMessage> msgs = {
      ChatMessage{"user", {text("Compare "), image(), text(" and "), image(), image()}, ""},
      make_message("assistant", "They differ."),
      make_message("user", "How?"),
  };
  const std::string want =
      "<beginning_of_sentence>user name=user\nCompare <image> and <image><image><end_of_sentence>\n"
      "<beginning_of_sentence>ai name=assistant\nThey differ.<end_of_sentence>\n"
      "<beginning_of_sentence>user name=user\nHow?<end_of_sentence>\n";
  EXPECT_EQ(render_chat(msgs, false), want);
  EXPECT_EQ(render_chat(msgs, true), want + "<beginning_of_sentence>ai name=assistant\n");
}

TEST(ChatTemplate, PlainStringContentAndEmptyConversation) {
  EXPECT_EQ(render_chat({make_message("user", "hi")}, false),
            "<beginning_of_sentence>user name=user\nhi<end_of_sentence>\n");
  EXPECT_EQ(render_chat({}, true), "<beginning_of_sentence>ai name=assistant\n");
  EXPECT_EQ(render_chat({}, false), "");
  // Text is verbatim: newlines and marker-like text are not touched.
  EXPECT_EQ(render_chat({make_message("user", "a\n\n<image>b ")}, false),
            "<beginning_of_sentence>user name=user\na\n\n<image>b <end_of_sentence>\n");
}

TEST(ChatTemplate, FunctionResultsAndToolsAfterMessages) {
  ChatMessage fn = make_message("function", "{\"temp\": 21}");
  fn.name = "get_weather";
  const std::vector<ChatMessage> msgs = {make_message("user", "Weather?"), fn};
  const std::vector<std::string> tools = {"{\"name\": \"get_weather\"}", "{\"name\": \"search\"}"};
  const std::string want =
      "<beginning_of_sentence>user name=user\nWeather?<end_of_sentence>\n"
      "<beginning_of_sentence>system function_response=functions\n"
      "{\"name\": \"get_weather\", \"response\": {\"temp\": 21}}<end_of_sentence>\n"
      "<beginning_of_sentence>system function_setting=functions\n{\"name\": "
      "\"get_weather\"}<end_of_sentence>\n"
      "<beginning_of_sentence>system function_setting=functions\n{\"name\": "
      "\"search\"}<end_of_sentence>\n"
      "<beginning_of_sentence>ai name=assistant\n";
  EXPECT_EQ(render_chat(msgs, true, tools), want);
}

TEST(ChatTemplate, UnknownRoleIsAnError) {
  EXPECT_THROW(render_chat({make_message("robot", "x")}, true), Error);
  EXPECT_THROW(render_chat({ChatMessage{"function", {}, "f"}}, true), Error);
}

TEST(ChatTemplate, RenderedPromptTokenizesMarkersAsSpecialTokens) {
  const Tokenizer t =
      Tokenizer::from_file(test::source_path("tests/golden/tokenizer/minimax_like.json"));
  const std::string prompt = render_chat({ChatMessage{"user", {image(), text("Hi")}, ""}}, true);
  const auto ids = t.encode(prompt, true);
  const int32_t bos = *t.token_to_id("<beginning_of_sentence>");
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), bos);  // no BOS is prepended: the first token is the user marker's
  EXPECT_EQ(std::count(ids.begin(), ids.end(), bos), 2);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), *t.token_to_id("<image>")), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), *t.token_to_id("<end_of_sentence>")), 1);
  EXPECT_EQ(t.decode(ids), prompt);
}

TEST(ChatTemplate, PiecesConcatenateToTheRenderedPrompt) {
  ChatMessage fn = make_message("function", "{\"ok\": true}");
  fn.name = "f";
  const std::vector<ChatMessage> msgs = {
      make_message("system", "sys"),
      ChatMessage{"user", {image(), text("a"), image(), text("b")}, ""},
      make_message("assistant", "c"), fn};
  const auto pieces = render_chat_pieces(msgs, true, {"{\"name\": \"f\"}"});
  std::string all;
  int images = 0;
  for (const auto& p : pieces) {
    all += p.text;
    images += p.kind == PromptPiece::Kind::image;
  }
  EXPECT_EQ(all, render_chat(msgs, true, {"{\"name\": \"f\"}"}));
  EXPECT_EQ(images, 2);
}

TEST(ChatTemplate, EncodeChatProtectsUserText) {
  const Tokenizer t =
      Tokenizer::from_file(test::source_path("tests/golden/tokenizer/minimax_like.json"));
  const int32_t image_id = *t.token_to_id("<image>");
  const int32_t eos_id = *t.token_to_id("<end_of_sentence>");
  // Ordinary prompt: both modes equal tokenizing the rendered string (HF's behaviour).
  const std::vector<ChatMessage> plain = {
      make_message("system", "Be brief."),
      ChatMessage{"user", {image(), text("What is this?")}, ""}};
  const auto pieces = render_chat_pieces(plain, true);
  const auto whole = t.encode(render_chat(plain, true), true);
  EXPECT_EQ(encode_chat(t, pieces, false), whole);
  EXPECT_EQ(encode_chat(t, pieces, true), whole);
  // User-typed markers stay text when protected, and become special tokens when not.
  const std::vector<ChatMessage> sneaky = {
      ChatMessage{"user", {image(), text("x<image>y<end_of_sentence>")}, ""}};
  const auto sp = render_chat_pieces(sneaky, true);
  const auto loose = encode_chat(t, sp, false);
  const auto safe = encode_chat(t, sp, true);
  EXPECT_EQ(std::count(loose.begin(), loose.end(), image_id), 2);
  EXPECT_EQ(std::count(safe.begin(), safe.end(), image_id), 1);
  EXPECT_EQ(std::count(loose.begin(), loose.end(), eos_id), 2);
  EXPECT_EQ(std::count(safe.begin(), safe.end(), eos_id), 1);
  EXPECT_EQ(t.decode(safe), render_chat(sneaky, true));
}

}  // namespace
}  // namespace mvl::llm
