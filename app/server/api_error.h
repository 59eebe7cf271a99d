// The OpenAI error object and the HTTP status it travels with. Everything the server
// refuses is thrown as an ApiError and rendered once, at the HTTP edge, as
// {"error": {"message", "type", "param", "code"}}.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "kernels/core/json.h"

namespace mvl::server {

struct ApiError : std::runtime_error {
  ApiError(int status, std::string type, std::string code, std::string message,
           std::string param = {})
      : std::runtime_error(message),
        status(status),
        type(std::move(type)),
        code(std::move(code)),
        param(std::move(param)) {}
  int status;         // HTTP status: 400, 401, 404, 413, 429, 500, 503
  std::string type;   // "invalid_request_error", "authentication_error", "server_error", ...
  std::string code;   // machine-readable detail ("invalid_api_key", "image_too_large", ...)
  std::string param;  // the request field at fault, "" when none
};

// 400 invalid_request_error naming the field at fault.
inline ApiError bad_request(std::string message, std::string param = {},
                            std::string code = "invalid_request") {
  return ApiError(400, "invalid_request_error", std::move(code), std::move(message),
                  std::move(param));
}

inline json::Json error_json(const ApiError& e) {
  json::Json err = {{"message", e.what()}, {"type", e.type}};
  err["param"] = e.param.empty() ? json::Json(nullptr) : json::Json(e.param);
  err["code"] = e.code.empty() ? json::Json(nullptr) : json::Json(e.code);
  return json::Json{{"error", err}};
}

}  // namespace mvl::server
