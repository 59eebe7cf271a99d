// PLACEHOLDER until its owner lands it: registers nothing.
#include "app/cli/command.h"

namespace mvl::cli {
void add_tokenize_commands(CLI::App& app, RunFn& run) {}
}  // namespace mvl::cli
