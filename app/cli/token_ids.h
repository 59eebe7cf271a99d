// Token-id prompts for the parity commands (`generate --ids`, `logits`): reading id lists.
// The engine checks them against the vocabulary and splices images at the image token ids
// (Request::Kind::raw).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mvl::cli {

// Whitespace-separated ids from FILE or '-' (stdin); commas and [] are accepted too, so a
// Python list pastes. Throws Error{invalid_argument|not_found} naming the file and item.
std::vector<int32_t> read_token_ids(const std::string& file);

}  // namespace mvl::cli
