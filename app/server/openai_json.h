// The OpenAI response shapes, built from engine results: chat.completion,
// chat.completion.chunk (SSE), the model list, usage and finish reasons. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "app/engine/core/events.h"
#include "kernels/core/json.h"

namespace mvl::server {

// eos/stop_string -> "stop", max_tokens/context_full -> "length", cancelled -> "cancelled"
// (not an OpenAI value; only seen when the server shuts down mid-request).
const char* finish_reason(engine::StopReason r);

// prompt_tokens counts the whole conversation: prefilled now + `cached` reused positions.
json::Json usage_json(const engine::Usage& u, int64_t cached = 0);

struct CompletionIds {
  std::string id;  // "chatcmpl-..."
  int64_t created = 0;
  std::string model;
};

json::Json completion_json(const CompletionIds& ids, const engine::DoneEvent& d, int64_t cached);
// One chunk: a role opener (role set), a content delta, or the final chunk (finish set).
json::Json chunk_json(const CompletionIds& ids, const std::optional<std::string>& role,
                      const std::optional<std::string>& content,
                      const std::optional<std::string>& finish);
json::Json usage_chunk_json(const CompletionIds& ids, const engine::Usage& u, int64_t cached);
json::Json models_json(const std::string& model_id, int64_t created);

// "data: <json>\n\n" with invalid UTF-8 replaced (never throws on model text).
std::string sse(const json::Json& j);
std::string dump(const json::Json& j);

}  // namespace mvl::server
