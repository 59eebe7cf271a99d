// The desktop's ImGui view driven headlessly (ImGui's null backend: no window, no GL):
// typed text with Enter sends and Shift+Enter makes a newline, Esc stops, Ctrl+N starts a
// new chat, and every panel state draws. Compiles to a skip where Dear ImGui is absent
// (app/desktop/CMakeLists.txt links mvl_desktop_view into this test when it is built).
#include <gtest/gtest.h>

#if __has_include(<imgui.h>)
#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "app/desktop/chat_view.h"
#include "app/desktop/file_picker.h"
#include "app/desktop/long_text.h"
#ifdef MVL_HAVE_MD4C
#include "app/desktop/markdown_view.h"
#endif
#include "app/engine/testing/fake_model.h"
#include "tests/support/test_util.h"

namespace mvl::desktop {
namespace {

constexpr int kKeyEnter = 257, kKeyEscape = 256;  // GLFW's codes, as the GLFW backend maps them

EngineFactory fake_factory(engine::testing::FakeOptions fo) {
  return [fo](const engine::EngineOptions& o, const engine::LoadProgressFn&) {
    return std::make_unique<engine::Engine>(engine::testing::make_fake_model(fo, std::make_shared<engine::testing::FakeStats>()), o);
  };
}

// One ImGui context with a built font atlas; frames advance by 1/60 s.
class Ui {
 public:
  Ui() {
    ctx_ = ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.DisplaySize = ImVec2(1280, 800);
    io.DeltaTime = 1.0f / 60.0f;
    io.IniFilename = nullptr;
    io.KeyMap[ImGuiKey_Enter] = kKeyEnter;
    io.KeyMap[ImGuiKey_Escape] = kKeyEscape;
    unsigned char* px = nullptr;
    int w = 0, h = 0;
    io.Fonts->GetTexDataAsRGBA32(&px, &w, &h);
  }
  ~Ui() { ImGui::DestroyContext(ctx_); }

  int frame(ChatController& c, ChatView& v) {
    c.poll();
    ImGui::NewFrame();
    v.draw();
    ImGui::Render();
    return ImGui::GetDrawData()->TotalVtxCount;
  }
  // The most vertices any one draw list of the last frame holds. The null backend, like a
  // renderer without ImGuiBackendFlags_RendererHasVtxOffset, needs this below 65536 (ImGui's
  // 16-bit indices); Debian's libimgui asserts (exit 134) past it.
  static int max_list_vertices() {
    int most = 0;
    const ImDrawData* d = ImGui::GetDrawData();
    for (int i = 0; i < d->CmdListsCount; ++i)
      most = std::max(most, d->CmdLists[i]->VtxBuffer.Size);
    return most;
  }
  void frames(ChatController& c, ChatView& v, int n) {
    for (int i = 0; i < n; ++i) frame(c, v);
  }
  void type(ChatController& c, ChatView& v, const char* text) {
    ImGui::GetIO().AddInputCharactersUTF8(text);
    frames(c, v, 2);
  }
  // Holds `key` (with modifiers) for one frame, then releases it.
  void press(ChatController& c, ChatView& v, int key, bool ctrl = false, bool shift = false) {
    ImGuiIO& io = ImGui::GetIO();
    io.KeyCtrl = ctrl;
    io.KeyShift = shift;
    io.KeysDown[key] = true;
    frame(c, v);
    io.KeysDown[key] = false;
    io.KeyCtrl = io.KeyShift = false;
    frames(c, v, 2);
  }

 private:
  ImGuiContext* ctx_ = nullptr;
};

bool run_until(Ui& ui, ChatController& c, ChatView& v, const std::function<bool()>& done) {
  for (int i = 0; i < 20000; ++i) {
    ui.frame(c, v);
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

void load_fake(Ui& ui, ChatController& c, ChatView& v) {
  engine::EngineOptions o;
  o.model_dir = "fake";
  ASSERT_TRUE(c.load_model(o));
  ASSERT_TRUE(run_until(ui, c, v, [&] { return c.model_ready(); }));
}

TEST(ChatView, EnterSendsAndShiftEnterAddsANewline) {
  Ui ui;
  TextureCache textures;
  ChatController c(fake_factory({}));
  ChatView v(c, textures, "", "cpu");
  load_fake(ui, c, v);
  c.settings().max_tokens = 4;
  ui.frames(c, v, 3);  // the message box takes keyboard focus
  ui.type(c, v, "Hello");
  EXPECT_EQ(c.draft(), "Hello");
  ui.press(c, v, kKeyEnter, false, /*shift=*/true);
  ui.type(c, v, "world");
  EXPECT_EQ(c.draft(), "Hello\nworld");
  EXPECT_TRUE(c.entries().empty()) << "Shift+Enter must not send";
  ui.press(c, v, kKeyEnter);
  ASSERT_FALSE(c.entries().empty()) << "Enter did not send; error: " << c.error();
  EXPECT_EQ(c.entries()[0].text, "Hello\nworld");
  EXPECT_TRUE(c.draft().empty());
  ASSERT_TRUE(run_until(ui, c, v, [&] { return !c.generating(); }));
  ASSERT_EQ(c.entries().size(), 2u);
  // The box keeps focus after sending: the next message can be typed at once.
  ui.type(c, v, "again");
  EXPECT_EQ(c.draft(), "again");
  // Esc (stop) while typing keeps the text (ImGui 1.86 would revert the box to its start).
  ui.press(c, v, kKeyEscape);
  EXPECT_EQ(c.draft(), "again");
  ui.type(c, v, "!");
  EXPECT_EQ(c.draft(), "again!");
}

TEST(ChatView, TheMessageBoxShowsDraftsChangedByTheController) {
  Ui ui;
  TextureCache textures;
  engine::testing::FakeOptions fo;
  fo.fail_at_decode = 1;
  ChatController c(fake_factory(fo));
  ChatView v(c, textures, "", "cpu");
  load_fake(ui, c, v);
  ui.frames(c, v, 3);
  ui.type(c, v, "will fail");
  ui.press(c, v, kKeyEnter);
  ASSERT_TRUE(run_until(ui, c, v, [&] { return !c.generating(); }));
  EXPECT_FALSE(c.error().empty());
  ASSERT_EQ(c.draft(), "will fail");  // given back by the controller while the box had focus
  ui.frames(c, v, 2);                 // the box takes focus again on the next frame
  ui.type(c, v, "!");
  EXPECT_EQ(c.draft(), "will fail!");
  // Ctrl+N empties the draft while the box is being edited: typing starts afresh.
  ui.press(c, v, 'N', /*ctrl=*/true);
  EXPECT_TRUE(c.draft().empty());
  ui.type(c, v, "x");
  EXPECT_EQ(c.draft(), "x");
}

TEST(ChatView, EscStopsAndCtrlNStartsANewChat) {
  Ui ui;
  TextureCache textures;
  engine::testing::FakeOptions fo;
  fo.decode_delay_ms = 10;
  ChatController c(fake_factory(fo));
  ChatView v(c, textures, "", "cpu");
  load_fake(ui, c, v);
  c.settings().max_tokens = 2000;
  c.draft() = "a long answer please";
  ASSERT_TRUE(c.send());
  ASSERT_TRUE(run_until(ui, c, v, [&] { return c.entries().back().live_tokens >= 2; }));
  ui.press(c, v, kKeyEscape);
  ASSERT_TRUE(run_until(ui, c, v, [&] { return !c.generating(); }));
  ASSERT_EQ(c.entries().size(), 2u);
  ASSERT_TRUE(c.entries()[1].stats.has_value());
  EXPECT_EQ(c.entries()[1].stats->reason, engine::StopReason::cancelled);
  ui.press(c, v, 'N', /*ctrl=*/true);
  EXPECT_TRUE(c.entries().empty());
}

TEST(ChatView, DrawsEveryPanelState) {
  Ui ui;
  TextureCache textures;
  engine::testing::FakeOptions fo;
  fo.decode_delay_ms = 2;
  int calls = 0;
  ChatController c([&](const engine::EngineOptions& o, const engine::LoadProgressFn& p) -> std::unique_ptr<engine::Engine> {
    if (++calls == 1) throw Error(ErrorCategory::not_found, "no config.json in '" + o.model_dir + "'");
    return fake_factory(fo)(o, p);
  });
  ChatView v(c, textures, "some/dir", "cpu");
  const int empty = ui.frame(c, v);
  EXPECT_GT(empty, 0);
  engine::EngineOptions o;
  o.model_dir = "some/dir";
  ASSERT_TRUE(c.load_model(o));  // first load fails inside the factory
  ASSERT_TRUE(run_until(ui, c, v, [&] { return c.model_status().state == ModelStatus::State::failed; }));
  EXPECT_GT(ui.frame(c, v), 0);
  load_fake(ui, c, v);
  const std::string img = test::temp_dir("view_img") + "/a.fake";
  engine::testing::write_fake_image(img, 32, 32);
  ASSERT_TRUE(c.attach_image(img)) << c.error();
  EXPECT_FALSE(c.attach_image(img + ".missing"));  // inline error line
  const int busy = ui.frame(c, v);
  c.settings().max_tokens = 6;
  c.draft() = "look";
  ASSERT_TRUE(c.send());
  ASSERT_TRUE(run_until(ui, c, v, [&] { return !c.generating(); }));
  const int done = ui.frame(c, v);
  EXPECT_GT(done, empty);  // messages, thumbnails placeholders and stats add geometry
  EXPECT_GT(busy, empty);
}

// Issue 20: a 20,000-token answer (one 20,000-character line from the fake model) used to
// be one TextUnformatted call of 80,000 vertices and aborted the desktop. It streams, and
// every frame, following the answer as it grows, stays under the limit.
TEST(ChatView, ATwentyThousandTokenAnswerRendersWithinTheIndexLimit) {
  Ui ui;
  TextureCache textures;
  engine::testing::FakeOptions fo;
  fo.max_context = 40000;
  ChatController c(fake_factory(fo));
  ChatView v(c, textures, "", "cpu");
  load_fake(ui, c, v);
  c.settings().max_tokens = 20000;
  c.draft() = "transcribe the page";
  ASSERT_TRUE(c.send());
  int most = 0;
  ASSERT_TRUE(run_until(ui, c, v, [&] {
    most = std::max(most, Ui::max_list_vertices());
    return !c.generating();
  }));
  ASSERT_EQ(c.entries().size(), 2u);
  ASSERT_GE(c.entries()[1].text.size(), 20000u) << "the answer is not long enough to test anything";
  ui.frames(c, v, 3);
  most = std::max(most, Ui::max_list_vertices());
  EXPECT_LT(most, 65536);
  EXPECT_GT(most, 1000) << "the answer was not drawn at all";
}

// CJK (3-byte UTF-8) and emoji (4-byte) text of 30,000 characters in a user message: no
// piece splits a character, and drawing stays under the limit.
TEST(ChatView, LongCjkTextRendersWithinTheIndexLimit) {
  std::string cjk;
  for (int i = 0; i < 30000; ++i) cjk += (i % 500 == 499) ? "\xF0\x9F\x98\x80" : "\xE6\x96\x87";
  for (const auto& [b, e] : split_text_pieces(cjk, 100)) {
    ASSERT_LE(e - b, 100u);
    ASSERT_TRUE(b == 0 || (static_cast<unsigned char>(cjk[b]) & 0xC0) != 0x80)
        << "piece starts mid-character at " << b;
  }
  Ui ui;
  TextureCache textures;
  engine::testing::FakeOptions fo;
  fo.max_context = 200000;
  ChatController c(fake_factory(fo));
  ChatView v(c, textures, "", "cpu");
  load_fake(ui, c, v);
  c.settings().max_tokens = 4;
  c.draft() = cjk;
  ASSERT_TRUE(c.send()) << c.error();
  ASSERT_TRUE(run_until(ui, c, v, [&] { return !c.generating(); }));
  ASSERT_FALSE(c.entries().empty());
  EXPECT_EQ(c.entries()[0].text, cjk);
  ui.frames(c, v, 3);
  EXPECT_LT(Ui::max_list_vertices(), 65536);
}

// The tile map: an attached tall page shows its grid and tokens before sending; the budget
// slider's value gives a smaller grid, and the map and the prepared image follow it.
TEST(ChatView, AnAttachedImageShowsItsTileMapAndTheBudgetShrinksIt) {
  Ui ui;
  TextureCache textures;
  ChatController c(fake_factory({}));
  ChatView v(c, textures, "", "cpu");
  load_fake(ui, c, v);
  const int before = ui.frame(c, v);
  const std::string img = test::temp_dir("tile_map_view") + "/receipt.fake";
  engine::testing::write_fake_image(img, 420, 3840);
  ASSERT_TRUE(c.attach_image(img)) << c.error();
  const auto m = c.tile_map(0);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->grid_rows, 6);
  EXPECT_EQ(m->image_tokens, 3024);
  EXPECT_GT(ui.frame(c, v), before + 40) << "the map (grid lines, shading, caption) was not drawn";
  c.set_max_image_tokens(1500);
  const auto small = c.tile_map(0);
  ASSERT_TRUE(small.has_value());
  EXPECT_LE(small->image_tokens, 1500);
  EXPECT_TRUE(small->budget_applied());
  EXPECT_GT(ui.frame(c, v), before);
  c.set_max_image_tokens(0);
  EXPECT_EQ(c.tile_map(0)->image_tokens, 3024);
}

// Issue 20: Load with an empty folder field used to do nothing, silently.
TEST(ChatView, LoadWithAnEmptyFolderFieldSaysSo) {
  Ui ui;
  TextureCache textures;
  int calls = 0;
  ChatController c([&](const engine::EngineOptions& o, const engine::LoadProgressFn& p) {
    ++calls;
    return fake_factory({})(o, p);
  });
  ChatView v(c, textures, "  ", "cpu");
  v.load();
  EXPECT_NE(v.local_error().find("model folder"), std::string::npos) << v.local_error();
  EXPECT_EQ(c.model_status().state, ModelStatus::State::none);
  EXPECT_GT(ui.frame(c, v), 0);
  EXPECT_EQ(calls, 0);
}

#ifdef MVL_HAVE_MD4C
// Draws `blocks` in a plain window for one frame; returns the most vertices of one list.
int draw_markdown_frame(const std::vector<MdBlock>& blocks, float scroll_y = 0, float* scroll_max = nullptr) {
  ImGui::NewFrame();
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(ImVec2(900, 700));
  ImGui::Begin("md", nullptr, ImGuiWindowFlags_NoSavedSettings);
  if (scroll_y > 0) ImGui::SetScrollY(scroll_y);
  draw_markdown(blocks, MdFonts{});
  if (scroll_max != nullptr) *scroll_max = ImGui::GetScrollMaxY();
  ImGui::End();
  ImGui::Render();
  return Ui::max_list_vertices();
}

// Every kind of block draws (each adds geometry), and a huge answer of them (a 3,000-row
// table, a 20,000-line code block, 40,000 CJK characters) stays under ImGui's 16-bit index
// limit, at the top and scrolled into the middle.
TEST(MarkdownView, EveryBlockDrawsAndHugeAnswersStayWithinTheIndexLimit) {
  Ui ui;
  const std::string sample =
      "# Invoice\n\nThe **total** is `42.00` and *due* now.\n\n- one\n- two\n  1. nested\n\n"
      "> a quote\n\n| Item | Qty |\n|---|--:|\n| Tea | 2 |\n\n```\ncode line\n```\n\n---\n";
  const auto blocks = parse_markdown(sample);
  ASSERT_GE(blocks.size(), 8u);
  int previous = 0;
  for (size_t n = 1; n <= blocks.size(); ++n) {  // each further block adds vertices
    draw_markdown_frame(std::vector<MdBlock>(blocks.begin(), blocks.begin() + static_cast<long>(n)));
    const int v = ImGui::GetDrawData()->TotalVtxCount;
    EXPECT_GT(v, previous) << "block " << n - 1 << " drew nothing";
    previous = v;
  }
  std::string huge = "| a | b | c |\n|---|---|---|\n";
  for (int i = 0; i < 3000; ++i) huge += "| cell " + std::to_string(i) + " | more text here | 12.50 |\n";
  huge += "\n```\n";
  for (int i = 0; i < 20000; ++i) huge += "    line " + std::to_string(i) + " of the code block\n";
  huge += "```\n\n";
  for (int i = 0; i < 40000; ++i) huge += "\xE6\x96\x87";
  const auto big = parse_markdown(huge);
  ASSERT_EQ(big.size(), 3u);
  EXPECT_LT(draw_markdown_frame(big), 65536);
  float scroll_max = 0;
  EXPECT_LT(draw_markdown_frame(big, 200000.0f, &scroll_max), 65536);
  EXPECT_GT(scroll_max, 200000.0f) << "the blocks did not take their height";
}

TEST(MarkdownView, LinesBreakAtSpacesAndBetweenCjkCharacters) {
  Ui ui;
  ImGui::NewFrame();  // fonts are current inside a frame
  const MdInline words{{kMdPlain, "alpha beta gamma delta epsilon zeta eta theta iota kappa"}};
  const auto starts = rich_text_line_starts(words, 120.0f, MdFonts{});
  ASSERT_GT(starts.size(), 2u);
  for (size_t i = 1; i < starts.size(); ++i) EXPECT_EQ(words[0].text[starts[i] - 1], ' ') << starts[i];
  std::string cjk;
  for (int i = 0; i < 60; ++i) cjk += "\xE6\x96\x87";
  const auto cjk_starts = rich_text_line_starts({{kMdPlain, cjk}}, 120.0f, MdFonts{});
  EXPECT_GT(cjk_starts.size(), 2u) << "CJK text without spaces must still wrap";
  for (size_t s : cjk_starts) EXPECT_EQ(s % 3, 0u) << "a line starts mid-character";
  EXPECT_EQ(rich_text_line_starts(words, 10000.0f, MdFonts{}).size(), 1u);
  ImGui::EndFrame();
}
#endif

TEST(FilePicker, ListsFoldersThenImagesAndDrawsAsAModal) {
  const std::string dir = test::temp_dir("file_picker");
  test::write_text(dir + "/b.PNG", "x");
  test::write_text(dir + "/a.jpg", "x");
  test::write_text(dir + "/notes.txt", "x");
  test::write_text(dir + "/.hidden.png", "x");
  std::filesystem::create_directory(dir + "/sub");
  FilePicker p;
  p.set_dir(dir + "/sub/..");
  EXPECT_EQ(p.dir(), std::filesystem::path(dir).lexically_normal().string());
  std::vector<std::string> names;
  for (const auto& e : p.entries()) names.push_back(e.name + (e.dir ? "/" : ""));
  EXPECT_EQ(names, (std::vector<std::string>{"sub/", "a.jpg", "b.PNG"}));
  p.all_files = true;
  p.set_dir(dir);
  EXPECT_EQ(p.entries().size(), 4u);
  Ui ui;
  p.open(dir);
  for (int frame = 0; frame < 3; ++frame) {  // a modal appears the frame after it is opened
    ImGui::NewFrame();
    ImGui::Begin("host");
    EXPECT_FALSE(p.draw().has_value());
    ImGui::End();
    ImGui::Render();
  }
  EXPECT_TRUE(p.is_open());
  EXPECT_GT(ImGui::GetDrawData()->TotalVtxCount, 100) << "the modal was not drawn";
}

TEST(LongText, PiecesCoverTheTextAtLinesAndSpaces) {
  using P = std::vector<std::pair<size_t, size_t>>;
  EXPECT_EQ(split_text_pieces(""), (P{{0, 0}}));
  EXPECT_EQ(split_text_pieces("ab\n\ncd\n"), (P{{0, 2}, {3, 3}, {4, 6}, {7, 7}}));
  // a 20-byte line with a 10-byte limit is cut after a space
  EXPECT_EQ(split_text_pieces("aaaa bbbb cccc dddd", 10), (P{{0, 10}, {10, 19}}));
  // no space: cut at the limit
  EXPECT_EQ(split_text_pieces(std::string(20, 'x'), 8), (P{{0, 8}, {8, 16}, {16, 20}}));
}

}  // namespace
}  // namespace mvl::desktop

#else

TEST(ChatView, NeedsDearImGui) {
  GTEST_SKIP() << "built without Dear ImGui (MVL_DESKTOP=OFF or libimgui-dev missing)";
}

#endif
