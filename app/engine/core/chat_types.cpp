// Small helpers of the conversation vocabulary.
#include "app/engine/core/chat_types.h"

namespace mvl::engine {

const char* role_name(Role r) {
  switch (r) {
    case Role::system: return "system";
    case Role::user: return "user";
    case Role::assistant: return "assistant";
  }
  return "?";
}

ContentPart ContentPart::make_text(std::string t) {
  ContentPart p;
  p.kind = Kind::text;
  p.text = std::move(t);
  return p;
}

ContentPart ContentPart::make_image(std::string path, std::shared_ptr<const PreparedImage> prep) {
  ContentPart p;
  p.kind = Kind::image;
  p.image_path = std::move(path);
  p.prepared = std::move(prep);
  return p;
}

std::string Message::text() const {
  std::string s;
  for (const auto& p : parts)
    if (p.kind == ContentPart::Kind::text) s += p.text;
  return s;
}

int64_t Message::num_images() const {
  int64_t n = 0;
  for (const auto& p : parts) n += p.kind == ContentPart::Kind::image;
  return n;
}

}  // namespace mvl::engine
