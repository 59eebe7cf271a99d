// `minimax-vl chat`: a multi-turn REPL over one engine Session. Each turn only prefills the
// new message (earlier turns stay in the model state). Commands: /image PATH, /clear,
// /regen, /save FILE, /load FILE, /stats, /help, /quit. Answers go to stdout; prompts, notes
// and per-turn errors go to stderr (an error ends the turn, not the REPL).
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "app/cli/command.h"
#include "app/cli/generation_cli.h"
#include "app/cli/line_reader.h"
#include "app/cli/signals.h"
#include "app/engine/core/transcript.h"

namespace mvl::cli {
namespace {

struct ChatFlags {
  ModelFlags model;
  GenerationFlags gen;
  std::vector<std::string> images;  // attached to the first message
  bool verbose = false;
};

constexpr const char* kHelp =
    "  /image PATH   attach an image to your next message (repeatable)\n"
    "  /clear        forget the conversation (keeps the system prompt)\n"
    "  /regen        answer the last message again\n"
    "  /save FILE    save the conversation as JSON\n"
    "  /load FILE    load a saved conversation (fed on your next message)\n"
    "  /stats        timings of the last answer and the context used\n"
    "  /quit         leave (also Ctrl+D on an empty line)\n"
    "Ctrl+C clears the line at the prompt and stops an answer; end a line with \\ to continue\n"
    "the message on the next line. Up/Down recall earlier input (kept in\n"
    "$XDG_STATE_HOME/minimax-vl/chat_history).\n";

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

class Repl {
 public:
  Repl(const ChatFlags& f, engine::Engine& e) : f_(f), e_(e), session_(e.new_session(f.gen.system)) {}

  int run() {
    tty_ = ::isatty(STDIN_FILENO) == 1;
    input_phase([&] {  // a bad --image at start is bad input (exit 4); /image later only warns
      for (const auto& p : f_.images) pending_.push_back(engine::ContentPart::make_image(p, e_.prepare_image(p)));
    });
    if (tty_)
      std::fprintf(
          stderr, "minimax-vl chat: type a message, /help for commands, /quit to leave%s\n",
          LineReader::has_line_editing() ? "" : " (no line editing: built without libedit)");
    LineReader reader(tty_);
    while (true) {
      const auto input =
          reader.read(pending_.empty() ? "> " : fmt::format("[{} image(s)] > ", pending_.size()));
      if (!input) break;
      const std::string& line = *input;
      const std::string t = trim(line);
      if (t.empty()) continue;
      if (t[0] == '/') {
        if (!command(t)) break;
        continue;
      }
      engine::Request r;
      r.session = session_;
      r.options = f_.gen.options();
      r.content = std::move(pending_);
      pending_.clear();
      r.content.push_back(engine::ContentPart::make_text(line));
      answer(std::move(r));
    }
    return kExitOk;
  }

 private:
  void attach(const std::string& path) {
    try {
      pending_.push_back(engine::ContentPart::make_image(path, e_.prepare_image(path)));
      if (tty_) std::fprintf(stderr, "attached %s\n", path.c_str());
    } catch (const Error& err) {
      std::fprintf(stderr, "minimax-vl: error: %s\n", err.what());
    }
  }

  void answer(engine::Request r) {
    const engine::RequestHandle h = run_streaming(e_, std::move(r), true);
    if (h.error()) {
      std::fprintf(stderr, "minimax-vl: error: %s\n", h.error()->error.what());
      return;
    }
    last_ = *h.done();
    std::fprintf(stdout, "\n");
    std::fflush(stdout);
    if (last_->reason == engine::StopReason::cancelled) std::fprintf(stderr, "[stopped]\n");
    if (f_.verbose) std::fprintf(stderr, "%s\n", stats_line(*last_).c_str());
  }

  // /load: the whole file is checked first (token ids against this model's vocabulary,
  // every image decoded), so a bad file changes nothing and the session stays usable.
  void load(const std::string& path) {
    std::vector<engine::Message> msgs;
    try {
      msgs = engine::load_transcript(path);
      engine::check_transcript_tokens(msgs, e_.info().vocab_size, "'" + path + "'");
      for (auto& m : msgs)
        for (auto& p : m.parts)
          if (p.kind == engine::ContentPart::Kind::image)
            p.prepared = e_.prepare_image(p.image_path);
    } catch (const Error& err) {
      std::fprintf(stderr, "minimax-vl: error: %s; nothing loaded, the conversation is unchanged\n",
                   err.what());
      return;
    }
    session_->load(std::move(msgs));
    pending_.clear();
    std::fprintf(stderr, "loaded %zu messages from %s\n", session_->messages().size(),
                 path.c_str());
  }

  // Returns false to leave the REPL.
  bool command(const std::string& t) {
    const size_t sp = t.find(' ');
    const std::string cmd = t.substr(0, sp);
    const std::string arg = sp == std::string::npos ? "" : trim(t.substr(sp + 1));
    try {
      if (cmd == "/quit" || cmd == "/exit" || cmd == "/bye") return false;
      if (cmd == "/help" || cmd == "/?") {
        std::fprintf(stderr, "%s", kHelp);
      } else if (cmd == "/image") {
        MVL_CHECK(!arg.empty(), invalid_argument, "usage: /image PATH");
        attach(arg);
      } else if (cmd == "/clear") {
        session_->clear();
        pending_.clear();
        std::fprintf(stderr, "conversation cleared\n");
      } else if (cmd == "/regen") {
        if (f_.gen.temperature <= 0.0f)
          std::fprintf(
              stderr,
              "note: decoding is greedy, so /regen gives the same answer; for another one, "
              "restart chat with --temp 0.7 (any value > 0 samples)\n");
        engine::Request r;
        r.session = session_;
        r.kind = engine::Request::Kind::regenerate;
        r.options = f_.gen.options();
        answer(std::move(r));
      } else if (cmd == "/save") {
        MVL_CHECK(!arg.empty(), invalid_argument, "usage: /save FILE");
        engine::save_transcript(arg, session_->messages());
        std::fprintf(stderr, "saved %zu messages to %s\n", session_->messages().size(), arg.c_str());
      } else if (cmd == "/load") {
        MVL_CHECK(!arg.empty(), invalid_argument, "usage: /load FILE");
        load(arg);
      } else if (cmd == "/stats") {
        std::fprintf(stderr, "context: %lld of %lld tokens, %zu messages, %lld tokens prefilled in this chat\n",
                     static_cast<long long>(session_->context_length()), static_cast<long long>(e_.max_context()),
                     session_->messages().size(), static_cast<long long>(session_->prefilled_tokens()));
        if (last_) std::fprintf(stderr, "last answer: %s\n", stats_line(*last_).c_str());
      } else {
        std::fprintf(stderr, "unknown command %s; /help lists them\n", cmd.c_str());
      }
    } catch (const Error& err) {
      std::fprintf(stderr, "minimax-vl: error: %s\n", err.what());
    }
    return true;
  }

  const ChatFlags& f_;
  engine::Engine& e_;
  std::shared_ptr<engine::Session> session_;
  std::vector<engine::ContentPart> pending_;  // images for the next message
  std::optional<engine::DoneEvent> last_;
  bool tty_ = false;
};

}  // namespace

void add_chat_command(CLI::App& app, RunFn& run) {
  auto f = std::make_shared<ChatFlags>();
  CLI::App* cmd = app.add_subcommand(
      "chat",
      "Chat with the model in a REPL (multi-turn; earlier turns are never re-prefilled).\n"
      "  minimax-vl chat -m /models/MiniMax-VL-01 --image doc.png\n"
      "Commands: /image PATH, /clear, /regen, /save FILE, /load FILE, /stats, /help, /quit.\n"
      "Decoding is greedy by default (as the official MiniMax-VL-01 examples); --temp > 0 samples.");
  add_model_flags(*cmd, f->model);
  add_images_flag(*cmd, f->images, "Image to attach to the first message; repeatable");
  add_generation_flags(*cmd, f->gen);
  cmd->add_flag("-v,--verbose", f->verbose, "Print timings after every answer on stderr");
  cmd->callback([f, &run] {
    run = [f] {
      input_phase([&] {
        for (const auto& path : f->images) check_image_path(path);
      });
      InterruptGuard guard;
      auto eng = open_engine(f->model);
      Repl repl(*f, *eng);
      return repl.run();
    };
  });
}

}  // namespace mvl::cli
