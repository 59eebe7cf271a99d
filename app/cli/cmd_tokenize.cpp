// `minimax-vl tokenize` and `minimax-vl detokenize`: text lines on stdin -> one line of
// space-separated ids each (exactly HF tokenizers' encode(line, add_special_tokens=False)),
// and back. The tokenizer comes from --tokenizer FILE, --model DIR (DIR/tokenizer.json) or
// the bundled default model.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "app/cli/command.h"
#include "app/cli/flags.h"
#include "app/engine/loading/text_tokenizer.h"

namespace mvl::cli {
namespace {

struct TokenizerSource {
  std::string file;
  std::string model;
};

void add_source_options(CLI::App* cmd, TokenizerSource& src) {
  auto* f = cmd->add_option("--tokenizer", src.file, "A Hugging Face tokenizer.json file");
  auto* m = add_model_flag(*cmd, src.model,
                          "Model directory holding tokenizer.json (default: the bundled tiny model)");
  f->excludes(m);
}

engine::TextTokenizer load_tokenizer(const TokenizerSource& src) {
  return load_phase([&] {
    std::string path = src.file;
    if (path.empty()) {
      const std::string dir = src.model.empty() ? default_model_dir() : src.model;
      path = (std::filesystem::path(dir) / "tokenizer.json").string();
      std::error_code ec;
      MVL_CHECK(std::filesystem::exists(path, ec), not_found,
                "no tokenizer.json in '{}'{}; pass --tokenizer FILE or --model DIR", dir,
                src.model.empty() ? " (the default model)" : "");
    }
    return engine::TextTokenizer::from_file(path);
  });
}

// Reads stdin line by line; the '\n' is not part of the line.
template <typename Fn>
void for_each_line(Fn&& fn) {
  std::ios::sync_with_stdio(false);  // large inputs: don't pay for C stdio sync per char
  std::string line;
  size_t number = 0;
  while (std::getline(std::cin, line)) fn(++number, line);
}

int run_tokenize(const TokenizerSource& src, bool no_special) {
  const engine::TextTokenizer tok = load_tokenizer(src);
  std::string out;
  for_each_line([&](size_t number, const std::string& line) {
    const auto ids = input_phase([&] {
      return in_context(fmt::format("stdin line {}", number),
                        [&] { return tok.encode(line, !no_special); });
    });
    out.clear();
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) out.push_back(' ');
      out += std::to_string(ids[i]);
    }
    out.push_back('\n');
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
  return kExitOk;
}

// Parses one line of ids; commas and brackets are accepted as separators so a Python list
// can be pasted as is.
std::vector<int32_t> parse_ids(const std::string& line, const engine::TextTokenizer& tok) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (c == ' ' || c == '\t' || c == ',' || c == '[' || c == ']' || c == '\r') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != ',' &&
           line[j] != ']' && line[j] != '\r')
      ++j;
    const std::string word = line.substr(i, j - i);
    int64_t v = -1;
    bool ok = !word.empty() && word.size() <= 10;
    for (char d : word) ok = ok && d >= '0' && d <= '9';
    if (ok) v = std::stoll(word);
    MVL_CHECK(ok, invalid_argument, "'{}' is not a token id (expected non-negative integers)",
              word);
    MVL_CHECK(v < tok.vocab_size() && tok.has_id(static_cast<int32_t>(v)), invalid_argument,
              "id {} is not in the tokenizer's vocabulary (size {})", v, tok.vocab_size());
    ids.push_back(static_cast<int32_t>(v));
    i = j;
  }
  return ids;
}

int run_detokenize(const TokenizerSource& src, bool skip_special) {
  const engine::TextTokenizer tok = load_tokenizer(src);
  for_each_line([&](size_t number, const std::string& line) {
    const auto ids = input_phase([&] {
      return in_context(fmt::format("stdin line {}", number), [&] { return parse_ids(line, tok); });
    });
    std::string text = tok.decode(ids, skip_special);
    text.push_back('\n');
    std::fwrite(text.data(), 1, text.size(), stdout);
  });
  return kExitOk;
}

}  // namespace

void add_tokenize_commands(CLI::App& app, RunFn& run) {
  {
    auto src = std::make_shared<TokenizerSource>();
    auto no_special = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand(
        "tokenize",
        "Print the token ids of each stdin line (space-separated, one line per input line).\n"
        "Added tokens such as <image> in the text are recognised unless --no-special is given.\n"
        "Example: echo 'Hello <image>' | minimax-vl tokenize -m /models/MiniMax-VL-01");
    add_source_options(cmd, *src);
    cmd->add_flag(
        "--no-special", *no_special,
        "Encode special tokens in the text as plain text (what the engine does with user input)");
    cmd->callback([&run, src, no_special] {
      run = [src, no_special] { return run_tokenize(*src, *no_special); };
    });
  }
  {
    auto src = std::make_shared<TokenizerSource>();
    auto skip = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand(
        "detokenize",
        "Print the text of each stdin line of token ids (separated by spaces or commas).\n"
        "Example: echo '15496 11 995' | minimax-vl detokenize --tokenizer tokenizer.json");
    add_source_options(cmd, *src);
    cmd->add_flag("--skip-special", *skip,
                  "Leave special tokens (e.g. <end_of_sentence>) out of the text");
    cmd->callback([&run, src, skip] { run = [src, skip] { return run_detokenize(*src, *skip); }; });
  }
}

}  // namespace mvl::cli
