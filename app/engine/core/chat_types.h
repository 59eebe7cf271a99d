// The conversation vocabulary shared by sessions, requests and front ends: a Message is a
// role plus ordered content parts (text, or an image by path, optionally already
// preprocessed). Assistant messages also keep the exact token ids that were generated,
// so replaying a transcript feeds the same positions (no re-tokenisation drift).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mvl::engine {

struct PreparedImage;  // model_api.h

enum class Role { system, user, assistant };
const char* role_name(Role r);  // "system" | "user" | "assistant"

struct ContentPart {
  enum class Kind { text, image };
  Kind kind = Kind::text;
  std::string text;                              // kind == text
  std::string image_path;                        // kind == image
  std::shared_ptr<const PreparedImage> prepared; // optional: preprocessed before submit

  static ContentPart make_text(std::string t);
  static ContentPart make_image(std::string path, std::shared_ptr<const PreparedImage> p = {});
};

struct Message {
  Role role = Role::user;
  std::vector<ContentPart> parts;
  std::vector<int32_t> tokens;  // assistant only: the generated ids (EOS excluded); may be empty
  std::string text() const;     // the text parts concatenated
  int64_t num_images() const;
};

}  // namespace mvl::engine
