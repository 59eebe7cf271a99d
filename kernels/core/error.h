// The one exception type of minimax-vl: a category, a message and a context chain.
// Library code throws it; front ends catch it at their edge and pick an exit code.
// Context is added on the way out by `in_context` (a scope guard that catches,
// prepends one line of context and rethrows), so messages read outermost-first.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mvl {

enum class ErrorCategory {
  invalid_argument,  // the caller passed something wrong (a flag, a shape, an option)
  not_found,         // a file, tensor, key or token that should exist does not
  bad_format,        // a file exists but its content is malformed
  shape_mismatch,    // a tensor has the wrong shape or dtype for its role
  unsupported,       // valid, but this build/device cannot do it
  out_of_memory,     // host or device allocation failed, or a size cap was hit
  device,            // a CUDA/NCCL call failed
  io,                // the OS refused a read/write/mmap
  internal,          // a broken invariant inside minimax-vl (a bug)
};

const char* category_name(ErrorCategory c);

class Error : public std::runtime_error {
 public:
  Error(ErrorCategory category, std::string message);

  ErrorCategory category() const { return category_; }
  const std::string& message() const { return message_; }
  // Outermost context first, e.g. {"loading model 'dir'", "tensor 'x'"}.
  const std::vector<std::string>& context() const { return context_; }

  // Prepends one context line; what() is rebuilt as "ctx: ctx: message".
  void add_context(std::string ctx);
  const char* what() const noexcept override { return full_.c_str(); }

 private:
  void rebuild();
  ErrorCategory category_;
  std::string message_;
  std::vector<std::string> context_;
  std::string full_;
};

// Runs f(); if it throws an Error, prepends `ctx` and rethrows. Other std exceptions
// (bad_alloc, system_error, ...) are converted to Error so the context is not lost.
template <typename F>
decltype(auto) in_context(const std::string& ctx, F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (Error& e) {
    e.add_context(ctx);
    throw;
  } catch (const std::bad_alloc&) {
    Error e(ErrorCategory::out_of_memory, "out of host memory");
    e.add_context(ctx);
    throw e;
  }
}

[[noreturn]] void throw_error(ErrorCategory c, std::string message);

}  // namespace mvl

// MVL_CHECK(cond, category, "fmt {}", args...) throws mvl::Error when cond is false.
#define MVL_CHECK(cond, category, ...)                                         \
  do {                                                                         \
    if (!(cond)) ::mvl::throw_error(::mvl::ErrorCategory::category,            \
                                    ::fmt::format(__VA_ARGS__));               \
  } while (0)

// MVL_ASSERT(cond) is for internal invariants: throws `internal` with file:line.
#define MVL_ASSERT(cond)                                                        \
  do {                                                                          \
    if (!(cond)) ::mvl::throw_error(::mvl::ErrorCategory::internal,             \
                                    ::fmt::format("internal check failed: {} ({}:{})", \
                                                  #cond, __FILE__, __LINE__));  \
  } while (0)
