// Shared bits of the fuzz targets: a private scratch directory per process, writing the
// input to a file there (the parsers under test take paths), and the rule that an
// mvl::Error is the expected outcome for bad input while anything else is a bug.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "kernels/core/error.h"

namespace mvl::fuzz {

// A directory under $TMPDIR (or /tmp) unique to this process, created on first use.
const std::string& scratch_dir();
// Writes bytes to scratch_dir()/name and returns the path.
std::string write_scratch(const std::string& name, const uint8_t* data, size_t size);
// Removes every entry of scratch_dir()/sub (the folder stays).
void clear_scratch(const std::string& sub);

}  // namespace mvl::fuzz

// Runs `body`; an mvl::Error (a clean one-line refusal) is fine, any other exception aborts
// so libFuzzer records the input.
#define MVL_FUZZ_EXPECT_ERRORS_ONLY(body)                                         \
  try {                                                                           \
    body;                                                                         \
  } catch (const ::mvl::Error&) {                                                 \
  } catch (const std::exception& e) {                                             \
    std::fprintf(stderr, "non-mvl exception escaped the parser: %s\n", e.what()); \
    std::abort();                                                                 \
  }
