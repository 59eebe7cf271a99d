// ConversationStore (see conversation_store.h).
#include "app/desktop/conversation_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "app/engine/core/transcript.h"
#include "kernels/core/error.h"
#include "kernels/core/file_io.h"
#include "kernels/core/json.h"

namespace mvl::desktop {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "minimax-vl-conversation/1";

// A conversation id names a file in the folder: letters, digits, '-' and '_' only.
void check_id(const std::string& id) {
  const bool ok = !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  MVL_CHECK(ok, invalid_argument, "'{}' is not a conversation id", id);
}

std::vector<engine::Message> absolute_images(std::vector<engine::Message> messages) {
  for (auto& m : messages)
    for (auto& p : m.parts)
      if (p.kind == engine::ContentPart::Kind::image && !p.image_path.empty()) {
        std::error_code ec;
        const fs::path abs = fs::absolute(p.image_path, ec);
        if (!ec) p.image_path = abs.lexically_normal().string();
      }
  return messages;
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string ConversationStore::default_dir() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/minimax-vl/conversations";
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0')
    return std::string(home) + "/.local/share/minimax-vl/conversations";
  return {};
}

std::string ConversationStore::path(const std::string& id) const {
  check_id(id);
  return dir_ + "/" + id + ".json";
}

std::vector<ConversationInfo> ConversationStore::list() const {
  std::vector<ConversationInfo> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const fs::path& p = entry.path();
    if (p.extension() != ".json" || !entry.is_regular_file(ec)) continue;
    try {
      const json::Json j = json::parse_file(p.string());
      if (!j.is_object() || json::opt_string(j, "format", p.string()).value_or("") != kFormat)
        continue;
      ConversationInfo c;
      c.id = p.stem().string();
      check_id(c.id);
      c.title = json::opt_string(j, "title", p.string()).value_or("");
      c.updated = json::opt_int(j, "updated", p.string()).value_or(0);
      if (j.contains("transcript") && j["transcript"].contains("messages") &&
          j["transcript"]["messages"].is_array())
        for (const auto& m : j["transcript"]["messages"])
          if (m.is_object() && m.value("role", "") != "system") ++c.messages;
      out.push_back(std::move(c));
    } catch (const std::exception&) {
      // unreadable or foreign: not listed, left alone
    }
  }
  std::sort(out.begin(), out.end(), [](const ConversationInfo& a, const ConversationInfo& b) {
    return a.updated != b.updated ? a.updated > b.updated : a.id > b.id;
  });
  return out;
}

std::string ConversationStore::new_id() const {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  std::string id = buf;
  std::error_code ec;
  for (int k = 2; fs::exists(dir_ + "/" + id + ".json", ec); ++k) id = fmt::format("{}-{}", buf, k);
  return id;
}

void ConversationStore::save(const std::string& id, const std::string& title,
                             const std::vector<engine::Message>& messages) const {
  const std::string p = path(id);
  std::error_code ec;
  fs::create_directories(dir_, ec);
  MVL_CHECK(!ec, io, "cannot create '{}': {}", dir_, ec.message());
  json::Json j = json::Json::object();
  j["format"] = kFormat;
  j["title"] = title;
  j["updated"] = now_seconds();
  j["transcript"] = engine::transcript_to_json(absolute_images(messages));
  write_file_atomically(p, j.dump(1) + "\n", 0600, /*durable=*/true);
}

std::vector<engine::Message> ConversationStore::load(const std::string& id,
                                                     std::string* title) const {
  const std::string p = path(id);
  const json::Json j = json::parse_file(p);
  MVL_CHECK(j.is_object() && json::opt_string(j, "format", p).value_or("") == kFormat, bad_format,
            "'{}' is not a minimax-vl conversation", p);
  if (title != nullptr) *title = json::opt_string(j, "title", p).value_or("");
  MVL_CHECK(j.contains("transcript"), bad_format, "'{}' has no transcript", p);
  return engine::transcript_from_json(j["transcript"], p);
}

void ConversationStore::rename(const std::string& id, const std::string& title) const {
  const std::string p = path(id);
  json::Json j = json::parse_file(p);
  MVL_CHECK(j.is_object(), bad_format, "'{}' is not a minimax-vl conversation", p);
  j["title"] = title;
  write_file_atomically(p, j.dump(1) + "\n", 0600, /*durable=*/true);
}

void ConversationStore::remove(const std::string& id) const {
  const std::string p = path(id);
  std::error_code ec;
  fs::remove(p, ec);
  MVL_CHECK(!ec, io, "cannot delete '{}': {}", p, ec.message());
}

std::string conversation_title(const std::vector<engine::Message>& messages, size_t max_chars) {
  for (const auto& m : messages) {
    if (m.role != engine::Role::user) continue;
    std::string t = m.text();
    const size_t b = t.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) {
      if (!m.parts.empty()) return "Image chat";
      continue;
    }
    t = t.substr(b);
    t = t.substr(0, t.find('\n'));
    size_t chars = 0, i = 0;
    for (; i < t.size(); ++i) {
      if ((static_cast<unsigned char>(t[i]) & 0xC0) != 0x80 && ++chars > max_chars) break;
    }
    if (i < t.size()) t = t.substr(0, i) + "...";
    return t;
  }
  return "New chat";
}

}  // namespace mvl::desktop
