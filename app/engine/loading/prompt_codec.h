// The PromptCodec over a tokenizer.json and the chat template (llm/chat): text <-> ids for
// the engine, with user text kept away from special-token parsing.
#pragma once

#include <cstdint>
#include <memory>

#include "app/engine/core/model_api.h"
#include "llm/tokenizer/tokenizer.h"

namespace mvl::engine {

// Throws Error when the tokenizer lacks the end-of-turn marker or maps `<image>` to an id
// other than config.json's image_token_index.
std::unique_ptr<PromptCodec> make_prompt_codec(llm::Tokenizer tok, int64_t image_token);

}  // namespace mvl::engine
