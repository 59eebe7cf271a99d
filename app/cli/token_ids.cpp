// Reading token-id prompts.
#include "app/cli/token_ids.h"

#include <unistd.h>

#include <sstream>

#include "kernels/core/error.h"
#include "kernels/core/file_io.h"

namespace mvl::cli {

std::vector<int32_t> read_token_ids(const std::string& file) {
  std::string text = file == "-" ? read_stream(STDIN_FILENO, kMaxStdinBytes, "the ids on stdin")
                                 : read_regular_file(file, kMaxStdinBytes);
  for (char& c : text)
    if (c == ',' || c == '[' || c == ']') c = ' ';
  std::istringstream is(text);
  std::vector<int32_t> ids;
  std::string tok;
  while (is >> tok) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(tok, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    MVL_CHECK(used == tok.size() && v >= 0 && v <= INT32_MAX, invalid_argument,
              "ids file '{}': '{}' (item {}) is not a token id; expected whitespace-separated integers", file, tok,
              ids.size() + 1);
    ids.push_back(static_cast<int32_t>(v));
  }
  MVL_CHECK(!ids.empty(), invalid_argument, "ids file '{}' holds no token ids", file);
  return ids;
}

}  // namespace mvl::cli
