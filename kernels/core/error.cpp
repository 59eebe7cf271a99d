// Error: category names and the context chain's text.
#include "kernels/core/error.h"

namespace mvl {

const char* category_name(ErrorCategory c) {
  switch (c) {
    case ErrorCategory::invalid_argument: return "invalid argument";
    case ErrorCategory::not_found: return "not found";
    case ErrorCategory::bad_format: return "bad format";
    case ErrorCategory::shape_mismatch: return "shape mismatch";
    case ErrorCategory::unsupported: return "unsupported";
    case ErrorCategory::out_of_memory: return "out of memory";
    case ErrorCategory::device: return "device error";
    case ErrorCategory::io: return "i/o error";
    case ErrorCategory::internal: return "internal error";
  }
  return "error";
}

Error::Error(ErrorCategory category, std::string message)
    : std::runtime_error(message), category_(category), message_(std::move(message)) {
  rebuild();
}

void Error::add_context(std::string ctx) {
  context_.insert(context_.begin(), std::move(ctx));
  rebuild();
}

void Error::rebuild() {
  full_.clear();
  for (const auto& c : context_) {
    full_ += c;
    full_ += ": ";
  }
  full_ += message_;
}

void throw_error(ErrorCategory c, std::string message) { throw Error(c, std::move(message)); }

}  // namespace mvl
