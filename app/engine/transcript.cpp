// Transcript JSON (see transcript.h for the format).
#include "app/engine/transcript.h"

#include <fstream>

#include "kernels/core/error.h"

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

void save_transcript(const std::string& path, const std::vector<Message>& messages) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    MVL_CHECK(f.good(), io, "cannot write '{}'; check the directory exists and is writable", path);
    f << transcript_to_json(messages).dump(2) << "\n";
    MVL_CHECK(f.good(), io, "writing '{}' failed", path);
  }
  MVL_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, io, "cannot rename '{}' to '{}'", tmp, path);
}

std::vector<Message> load_transcript(const std::string& path) {
  return transcript_from_json(json::parse_file(path), "'" + path + "'");
}

}  // namespace mvl::engine
