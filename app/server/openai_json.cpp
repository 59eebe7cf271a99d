// OpenAI JSON shapes (https://platform.openai.com/docs/api-reference/chat/object).
#include "app/server/openai_json.h"

namespace mvl::server {

using json::Json;

const char* finish_reason(engine::StopReason r) {
  switch (r) {
    case engine::StopReason::eos:
    case engine::StopReason::stop_string:
      return "stop";
    case engine::StopReason::max_tokens:
    case engine::StopReason::context_full:
      return "length";
    case engine::StopReason::cancelled:
      return "cancelled";
  }
  return "stop";
}

Json usage_json(const engine::Usage& u, int64_t cached) {
  const int64_t prompt = u.prompt_tokens + cached;
  return Json{{"prompt_tokens", prompt},
              {"completion_tokens", u.completion_tokens},
              {"total_tokens", prompt + u.completion_tokens},
              {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

Json completion_json(const CompletionIds& ids, const engine::DoneEvent& d, int64_t cached) {
  Json msg = {{"role", "assistant"}, {"content", d.text}};
  Json choice = {{"index", 0}, {"message", msg}, {"finish_reason", finish_reason(d.reason)}};
  choice["logprobs"] = nullptr;
  return Json{{"id", ids.id},
              {"object", "chat.completion"},
              {"created", ids.created},
              {"model", ids.model},
              {"choices", Json::array({choice})},
              {"usage", usage_json(d.usage, cached)}};
}

Json chunk_json(const CompletionIds& ids, const std::optional<std::string>& role,
                const std::optional<std::string>& content,
                const std::optional<std::string>& finish) {
  Json delta = Json::object();
  if (role) delta["role"] = *role;
  if (content) delta["content"] = *content;
  Json choice = {{"index", 0}, {"delta", delta}};
  choice["finish_reason"] = finish ? Json(*finish) : Json(nullptr);
  choice["logprobs"] = nullptr;
  return Json{{"id", ids.id},
              {"object", "chat.completion.chunk"},
              {"created", ids.created},
              {"model", ids.model},
              {"choices", Json::array({choice})}};
}

Json usage_chunk_json(const CompletionIds& ids, const engine::Usage& u, int64_t cached) {
  return Json{
      {"id", ids.id},       {"object", "chat.completion.chunk"}, {"created", ids.created},
      {"model", ids.model}, {"choices", Json::array()},          {"usage", usage_json(u, cached)}};
}

Json models_json(const std::string& model_id, int64_t created) {
  Json m = {
      {"id", model_id}, {"object", "model"}, {"created", created}, {"owned_by", "minimax-vl"}};
  return Json{{"object", "list"}, {"data", Json::array({m})}};
}

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string sse(const Json& j) {
  return "data: " + dump(j) + "\n\n";
}

}  // namespace mvl::server
