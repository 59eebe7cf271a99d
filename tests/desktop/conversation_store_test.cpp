// Saved desktop conversations: the store's files (atomic writes, listing newest first,
// rename, delete, foreign files left alone) and the ChatController writing a conversation
// as it happens: the question when sent, the answer when it ends; reopening restores it.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "app/desktop/chat_controller.h"
#include "app/desktop/conversation_store.h"
#include "app/engine/testing/fake_model.h"
#include "tests/support/test_util.h"

namespace mvl::desktop {
namespace {

namespace fs = std::filesystem;
using engine::Role;

engine::Message msg(Role r, const std::string& text) {
  engine::Message m;
  m.role = r;
  m.parts.push_back(engine::ContentPart::make_text(text));
  return m;
}

size_t files_in(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

TEST(ConversationStore, SavesListsRenamesAndDeletes) {
  const std::string dir = test::temp_dir("conv_store") + "/nested/conversations";
  ConversationStore store(dir);
  EXPECT_TRUE(store.list().empty()) << "a missing folder lists nothing";
  const std::vector<engine::Message> chat = {msg(Role::user, "What is the total?"),
                                             msg(Role::assistant, "42.00")};
  store.save("a", "first", chat);
  store.save("b", "second", {msg(Role::user, "hi")});
  EXPECT_EQ(files_in(dir), 2u) << "no temporary files left behind";
  std::ofstream(dir + "/junk.json") << "{not json";
  std::ofstream(dir + "/other.json") << R"({"format": "something-else"})";
  auto list = store.list();
  ASSERT_EQ(list.size(), 2u) << "foreign and broken files are not listed";
  EXPECT_TRUE(fs::exists(dir + "/junk.json")) << "and not deleted";
  EXPECT_EQ(list[0].messages + list[1].messages, 3u);
  std::string title;
  const auto back = store.load("a", &title);
  EXPECT_EQ(title, "first");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].text(), "42.00");
  store.rename("a", "Invoice \xE6\x96\x87");
  store.load("a", &title);
  EXPECT_EQ(title, "Invoice \xE6\x96\x87");
  store.remove("b");
  list = store.list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].id, "a");
  EXPECT_THROW(store.load("../etc/passwd"), Error) << "ids never name files outside the folder";
  EXPECT_THROW(store.load("missing"), Error);
}

TEST(ConversationStore, TitlesComeFromTheFirstQuestion) {
  EXPECT_EQ(
      conversation_title({msg(Role::system, "sys"), msg(Role::user, "  Read this\nsecond line")}),
      "Read this");
  std::string cjk;
  for (int i = 0; i < 80; ++i) cjk += "\xE6\x96\x87";
  const std::string t = conversation_title({msg(Role::user, cjk)}, 10);
  EXPECT_EQ(t, cjk.substr(0, 30) + "...");
  EXPECT_EQ(conversation_title({}), "New chat");
}

TEST(ConversationStore, TheDefaultFolderFollowsXdg) {
  const char* old_xdg = std::getenv("XDG_DATA_HOME");
  const std::string saved = old_xdg ? old_xdg : "";
  setenv("XDG_DATA_HOME", "/tmp/xdg-test", 1);
  EXPECT_EQ(ConversationStore::default_dir(), "/tmp/xdg-test/minimax-vl/conversations");
  unsetenv("XDG_DATA_HOME");
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home)
    EXPECT_EQ(ConversationStore::default_dir(),
              std::string(home) + "/.local/share/minimax-vl/conversations");
  if (old_xdg) setenv("XDG_DATA_HOME", saved.c_str(), 1);
}

EngineFactory fake_factory(engine::testing::FakeOptions fo) {
  return [fo](const engine::EngineOptions& o, const engine::LoadProgressFn&) {
    return std::make_unique<engine::Engine>(
        engine::testing::make_fake_model(fo, std::make_shared<engine::testing::FakeStats>()), o,
        1.0);
  };
}

bool pump(ChatController& c, const std::function<bool()>& done) {
  for (int i = 0; i < 20000; ++i) {
    c.poll();
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

void load(ChatController& c) {
  engine::EngineOptions o;
  o.model_dir = "fake";
  ASSERT_TRUE(c.load_model(o));
  ASSERT_TRUE(pump(c, [&] { return c.model_ready(); }));
}

TEST(ConversationStore, TheControllerSavesAsTheChatHappensAndReopens) {
  const std::string dir = test::temp_dir("conv_controller");
  auto store = std::make_shared<ConversationStore>(dir);
  engine::testing::FakeOptions fo;
  fo.decode_delay_ms = 5;
  std::string id;
  {
    ChatController c(fake_factory(fo));
    c.set_store(store);
    load(c);
    c.settings().max_tokens = 40;
    c.draft() = "first question";
    ASSERT_TRUE(c.send()) << c.error();
    // Mid-answer, the question is already on disk (a crash now loses only the answer).
    id = c.conversation_id();
    ASSERT_FALSE(id.empty());
    auto saved = store->load(id);
    ASSERT_EQ(saved.back().role, Role::user);
    EXPECT_EQ(saved.back().text(), "first question");
    ASSERT_TRUE(pump(c, [&] { return !c.generating(); }));
    saved = store->load(id);
    ASSERT_EQ(saved.back().role, Role::assistant);
    EXPECT_EQ(saved.back().text(), c.entries().back().text);
    ASSERT_EQ(c.conversations().size(), 1u);
    EXPECT_EQ(c.conversations()[0].title, "first question");
    c.new_chat();
    EXPECT_TRUE(c.conversation_id().empty());
    c.draft() = "second chat";
    ASSERT_TRUE(c.send());
    ASSERT_TRUE(pump(c, [&] { return !c.generating(); }));
    EXPECT_EQ(c.conversations().size(), 2u);
  }
  // A new window (a restart) lists both and reopens the first one where it was.
  ChatController c(fake_factory(fo));
  c.set_store(store);
  ASSERT_EQ(c.conversations().size(), 2u);
  ASSERT_TRUE(c.open_conversation(id)) << c.error();  // before a model: shown, fed on load
  ASSERT_EQ(c.entries().size(), 2u);
  EXPECT_EQ(c.entries()[0].text, "first question");
  load(c);
  ASSERT_EQ(c.entries().size(), 2u) << "the reopened chat survives the model load";
  c.settings().max_tokens = 3;
  c.draft() = "follow-up";
  ASSERT_TRUE(c.send()) << c.error();
  ASSERT_TRUE(pump(c, [&] { return !c.generating(); }));
  EXPECT_EQ(c.conversation_id(), id) << "the follow-up goes into the same file";
  EXPECT_EQ(store->load(id).size(), 5u);  // system + 2 turns
  ASSERT_TRUE(c.rename_conversation(id, "renamed"));
  EXPECT_EQ(c.conversations()[0].title + c.conversations()[1].title == "renamedsecond chat" ||
                c.conversations()[1].title + c.conversations()[0].title == "renamedsecond chat",
            true);
  ASSERT_TRUE(c.delete_conversation(id));
  EXPECT_TRUE(c.entries().empty()) << "deleting the open chat starts a new one";
  EXPECT_EQ(c.conversations().size(), 1u);
  EXPECT_FALSE(c.open_conversation(id));
  EXPECT_FALSE(c.error().empty());
}

}  // namespace
}  // namespace mvl::desktop
