// Transcript JSON (see transcript.h for the format).
#include "app/engine/core/transcript.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "kernels/core/error.h"
#include "kernels/core/file_io.h"

namespace mvl::engine {

namespace {
constexpr const char* kFormat = "minimax-vl-transcript/1";
}

json::Json transcript_to_json(const std::vector<Message>& messages) {
  json::Json arr = json::Json::array();
  for (const auto& m : messages) {
    json::Json content = json::Json::array();
    for (const auto& p : m.parts) {
      if (p.kind == ContentPart::Kind::image) content.push_back({{"type", "image"}, {"path", p.image_path}});
      else content.push_back({{"type", "text"}, {"text", p.text}});
    }
    json::Json jm{{"role", role_name(m.role)}, {"content", content}};
    if (!m.tokens.empty()) jm["tokens"] = m.tokens;
    arr.push_back(std::move(jm));
  }
  return json::Json{{"format", kFormat}, {"messages", arr}};
}

std::vector<Message> transcript_from_json(const json::Json& j, const std::string& what) {
  MVL_CHECK(j.is_object(), bad_format, "{}: expected a JSON object", what);
  const auto fmt_name = json::opt_string(j, "format", what);
  MVL_CHECK(fmt_name && *fmt_name == kFormat, bad_format,
            "{}: not a minimax-vl transcript (format '{}', expected '{}')", what, fmt_name.value_or(""), kFormat);
  std::vector<Message> out;
  const auto& arr = json::get_array(j, "messages", what);
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string w = what + " message " + std::to_string(i);
    const auto& jm = arr[i];
    MVL_CHECK(jm.is_object(), bad_format, "{}: expected an object", w);
    Message m;
    const std::string role = json::get_string(jm, "role", w);
    if (role == "system") m.role = Role::system;
    else if (role == "user") m.role = Role::user;
    else if (role == "assistant") m.role = Role::assistant;
    else throw_error(ErrorCategory::bad_format, w + ": unknown role '" + role + "'");
    for (const auto& jp : json::get_array(jm, "content", w)) {
      const std::string type = json::get_string(jp, "type", w);
      if (type == "text") m.parts.push_back(ContentPart::make_text(json::get_string(jp, "text", w)));
      else if (type == "image") m.parts.push_back(ContentPart::make_image(json::get_string(jp, "path", w)));
      else throw_error(ErrorCategory::bad_format, w + ": unknown content type '" + type + "'");
    }
    if (jm.contains("tokens")) {
      MVL_CHECK(m.role == Role::assistant, bad_format, "{}: only assistant messages carry tokens", w);
      for (int64_t id : json::as_int_list(jm["tokens"], w + " tokens")) {
        MVL_CHECK(id >= 0 && id < (int64_t{1} << 31), bad_format, "{}: token id {} out of range", w, id);
        m.tokens.push_back(static_cast<int32_t>(id));
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

namespace {

// Image paths made absolute (against the current folder, where they were attached), so a
// saved chat loads from any folder.
std::vector<Message> with_absolute_images(std::vector<Message> messages) {
  for (auto& m : messages)
    for (auto& p : m.parts)
      if (p.kind == ContentPart::Kind::image && !p.image_path.empty()) {
        std::error_code ec;
        const auto abs = std::filesystem::absolute(p.image_path, ec);
        if (!ec) p.image_path = abs.lexically_normal().string();
      }
  return messages;
}

}  // namespace

void save_transcript(const std::string& path, const std::vector<Message>& messages) {
  // Never write through a symlink or into a device or FIFO: such a path is refused, and a
  // regular file is replaced atomically (a temporary file beside it, then rename).
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    MVL_CHECK(S_ISREG(st.st_mode), invalid_argument,
              "'{}' exists and is not a regular file (a symlink, device, FIFO or folder); not "
              "overwriting it, choose another path",
              path);
  }
  const std::string text = transcript_to_json(with_absolute_images(messages)).dump(2) + "\n";
  write_file_atomically(path, text, 0644, /*durable=*/false);
}

std::vector<Message> load_transcript(const std::string& path) {
  auto messages = transcript_from_json(
      json::parse(read_regular_file(path, kMaxChatFileBytes), "'" + path + "'"), "'" + path + "'");
  // Relative image paths (older files stored them as typed): the current folder if the
  // file is there, else the transcript's own folder.
  const auto base = std::filesystem::path(path).parent_path();
  for (auto& m : messages)
    for (auto& p : m.parts) {
      if (p.kind != ContentPart::Kind::image || p.image_path.empty()) continue;
      const std::filesystem::path ip(p.image_path);
      std::error_code ec;
      if (ip.is_absolute() || std::filesystem::exists(ip, ec)) continue;
      if (std::filesystem::exists(base / ip, ec))
        p.image_path = (base / ip).lexically_normal().string();
    }
  return messages;
}

void check_transcript_tokens(const std::vector<Message>& messages, int64_t vocab_size,
                             const std::string& what) {
  for (size_t i = 0; i < messages.size(); ++i)
    for (int32_t id : messages[i].tokens)
      MVL_CHECK(id >= 0 && id < vocab_size, bad_format,
                "{} message {}: token id {} is outside this model's vocabulary (0..{})", what, i,
                id, vocab_size - 1);
}

}  // namespace mvl::engine
