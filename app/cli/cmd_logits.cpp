// `minimax-vl logits`: teacher-forced logits of every prompt position, for parity checks
// against a reference. Input: whitespace-separated token ids (FILE or '-' for stdin).
// Output: a safetensors file with one F32 tensor `logits` [n_tokens, vocab_size].
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/cli/command.h"
#include "app/engine/model_config.h"
#include "kernels/core/safetensors.h"
#include "llm/model/text_model.h"

namespace mvl::cli {
namespace {

struct LogitsOptions {
  std::string model, ids_file, out;
  int64_t chunk = 0;
};

std::vector<int32_t> read_id_list(const std::string& file) {
  std::string text;
  std::stringstream ss;
  if (file == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    MVL_CHECK(in.good(), not_found, "cannot open ids file '{}'", file);
    ss << in.rdbuf();
  }
  text = ss.str();
  std::istringstream is(text);
  std::vector<int32_t> ids;
  std::string tok;
  while (is >> tok) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(tok, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    MVL_CHECK(used == tok.size() && v >= 0 && v <= INT32_MAX, invalid_argument,
              "ids file '{}': '{}' (item {}) is not a token id; expected whitespace-separated integers", file, tok,
              ids.size() + 1);
    ids.push_back(static_cast<int32_t>(v));
  }
  MVL_CHECK(!ids.empty(), invalid_argument, "ids file '{}' holds no token ids", file);
  return ids;
}

int run_logits(const LogitsOptions& o) {
  const std::string dir = o.model.empty() ? default_model_dir() : o.model;
  struct Loaded {
    engine::ModelConfig cfg;
    Checkpoint ckpt;
    llm::TextModel model;
  };
  Loaded m = load_phase([&] {
    return in_context(fmt::format("loading model '{}'", dir), [&] {
      engine::ModelConfig cfg = engine::ModelConfig::load_dir(dir);
      Checkpoint ckpt = Checkpoint::open(dir);
      llm::TextModel model = llm::TextModel::load(ckpt, cfg.text, llm::TextWeightNaming::detect(ckpt));
      return Loaded{std::move(cfg), std::move(ckpt), std::move(model)};
    });
  });
  const std::vector<int32_t> ids = input_phase([&] {
    std::vector<int32_t> v = read_id_list(o.ids_file);
    for (size_t i = 0; i < v.size(); ++i)
      MVL_CHECK(v[i] < m.cfg.text.vocab_size, invalid_argument,
                "token id {} (position {}) is outside the model's vocabulary of {}", v[i], i, m.cfg.text.vocab_size);
    return v;
  });
  llm::SequenceState state = m.model.new_state();
  llm::PrefillOptions opts;
  opts.all_logits = true;
  opts.chunk_size = o.chunk;
  const Tensor logits = m.model.prefill({llm::Segment::tokens(ids)}, state, opts);
  SafetensorsWriter w;
  w.add("logits", logits);
  w.set_metadata("model", dir);
  w.write(o.out);
  std::fprintf(stderr, "wrote %s: logits [%zu, %lld]\n", o.out.c_str(), ids.size(),
               static_cast<long long>(m.cfg.text.vocab_size));
  return kExitOk;
}

}  // namespace

void add_logits_command(CLI::App& app, RunFn& run) {
  auto o = std::make_shared<LogitsOptions>();
  CLI::App* cmd = app.add_subcommand(
      "logits", "Dump the logits of every position of a token-id prompt to a safetensors file (parity checks)");
  cmd->add_option("-m,--model", o->model, "Model directory (default: the bundled tiny model)");
  cmd->add_option("--ids", o->ids_file, "File of whitespace-separated token ids ('-' = stdin)")->required();
  cmd->add_option("-o,--out", o->out, "Output .safetensors; holds one F32 tensor 'logits' [n_tokens, vocab_size]")
      ->required();
  cmd->add_option("--chunk", o->chunk, "Prefill in chunks of this many tokens (0 = all at once)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->callback([o, &run] { run = [o] { return run_logits(*o); }; });
}

}  // namespace mvl::cli
