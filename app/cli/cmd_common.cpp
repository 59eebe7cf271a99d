// Helpers shared by subcommands: locating the bundled default model.
#include "app/cli/command.h"
#include "app/engine/loading/install_paths.h"

namespace mvl::cli {

std::string default_model_dir() { return engine::bundled_model_dir(); }

}  // namespace mvl::cli
