// Where the files that ship with minimax-vl are found at run time: next to the installed
// binary (<prefix>/bin/../share/minimax-vl/...), else in the source tree the binary was built
// from (a build that was never installed). Every front end uses these, so the CLI, the
// desktop and the server agree on the default model.
#pragma once

#include <string>

namespace mvl::engine {

// <prefix>/share/minimax-vl (or the source tree's assets/ layout mapped onto it).
// `relative` is e.g. "models/tiny-random"; returns the first candidate that exists, else the
// installed location (so an error message names where it should be).
std::string shipped_path(const std::string& relative);

// The bundled default model: shipped_path("models/tiny-docs"), the 7M-parameter model of the
// VL-01 architecture trained on synthetic documents (tools/train_tiny, docs/tiny_model.md).
// assets/models/tiny-random stays in the source tree for tests that need its shapes.
std::string bundled_model_dir();

}  // namespace mvl::engine
