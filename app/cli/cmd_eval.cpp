// `minimax-vl eval`: the batch DocVQA / AI2D runner (app/eval) on the command line. Reads a
// local dataset, loads the model once, answers every item greedily, and writes
// predictions.jsonl + summary.json + summary.md (+ submission.json for DocVQA) to --output.
// Progress with ETA goes to stderr; the summary table (or --json) to stdout. Ctrl+C stops
// after cancelling the running item and keeps the finished ones (exit 130; --resume goes on).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "app/cli/command.h"
#include "app/cli/generation_cli.h"
#include "app/cli/signals.h"
#include "app/eval/dataset.h"
#include "app/eval/report.h"
#include "app/eval/runner.h"

namespace mvl::cli {
namespace {

struct EvalFlags {
  ModelFlags model;
  GenerationFlags gen;
  std::string task;
  std::string data_pos, data_flag;
  std::string format = "auto";
  std::string image_root;
  std::string output;
  std::string protocol = "short";
  int64_t limit = 0;
  bool resume = false;
  bool overwrite = false;
  bool json = false;
  bool quiet = false;
  bool max_tokens_given = false;
};

std::string clock_text(double s) {
  if (s < 0 || !std::isfinite(s)) return "?";
  const auto t = static_cast<int64_t>(std::llround(s));
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
  return fmt::format("{}:{:02}", t / 60, t % 60);
}

// "[ 12/100]  12% | 0.81 items/s | ETA 1:50 | anls 43.20 | 0 errors | last 4521": redrawn in
// place on a terminal; on a pipe or file, a plain line for the first item, then at most one
// every 10 s, and the last one.
class ProgressPrinter {
 public:
  ProgressPrinter(const char* metric, bool tty, bool quiet) : metric_(metric), tty_(tty), quiet_(quiet) {}
  void operator()(const eval::Progress& p) {
    if (quiet_) return;
    const bool last = p.done >= p.selected;
    const double now = engine::now_ms();
    if (!tty_ && !(p.ran == 1 || last || now - last_print_ms_ >= 10000)) return;
    last_print_ms_ = now;
    const double rate = p.elapsed_s > 0 ? p.ran / p.elapsed_s : 0;
    const std::string score = p.running_score ? fmt::format("{:.2f}", 100 * *p.running_score) : "-";
    const std::string line =
        fmt::format("[{:>{}}/{}] {:3.0f}% | {:.2f} items/s | ETA {} | {} {} | {} error{} | last {}", p.done,
                    std::to_string(p.selected).size(), p.selected, 100.0 * p.done / std::max<size_t>(p.selected, 1),
                    rate, clock_text(p.eta_s), metric_, score, p.errors, p.errors == 1 ? "" : "s", p.last_id);
    if (tty_) std::fprintf(stderr, "\r\033[2K%s%s", line.c_str(), last ? "\n" : "");
    else std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  }
  void finish() {
    if (tty_ && !quiet_) std::fprintf(stderr, "\r\033[2K");
  }

 private:
  const char* metric_;
  bool tty_, quiet_;
  double last_print_ms_ = 0;
};

int run_eval_command(const EvalFlags& f) {
  // Everything about the input is checked before the (possibly long) model load.
  const eval::Task task = eval::parse_task(f.task);
  const eval::Protocol protocol = eval::parse_protocol(f.protocol);
  MVL_CHECK(f.data_pos.empty() || f.data_flag.empty() || f.data_pos == f.data_flag, invalid_argument,
            "two datasets given ('{}' and --data '{}'); pass one", f.data_pos, f.data_flag);
  const std::string data = f.data_flag.empty() ? f.data_pos : f.data_flag;
  MVL_CHECK(!data.empty(), invalid_argument,
            "no dataset: minimax-vl eval {} --data FILE (JSONL, JSON or VLMEvalKit TSV; see --help)", f.task);
  MVL_CHECK(!(f.resume && f.overwrite), invalid_argument, "--resume and --overwrite contradict each other; pick one");
  const std::string out_dir = !f.output.empty()
                                  ? f.output
                                  : fmt::format("eval-{}-{}", f.task, std::filesystem::path(data).stem().string());
  parse_device_flag(f.model.device);  // a bad --device is a usage error before anything runs

  eval::LoadOptions lo;
  lo.format = f.format;
  lo.image_root = f.image_root;
  lo.image_cache_dir = (std::filesystem::path(out_dir) / "images").string();
  const eval::Dataset ds = input_phase([&] {
    eval::Dataset d = eval::load_dataset(task, data, lo);
    MVL_CHECK(!d.items.empty(), bad_format, "dataset '{}' has no items", data);
    return d;
  });

  const size_t selected = f.limit > 0 ? std::min<size_t>(ds.items.size(), f.limit) : ds.items.size();
  size_t missing = 0;
  std::string first_missing;
  for (size_t i = 0; i < selected; ++i)
    for (const auto& p : ds.items[i].images) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(p, ec)) {
        if (missing++ == 0) first_missing = fmt::format("{} ({})", p, ds.items[i].where);
      }
    }
  if (missing > 0)
    std::fprintf(stderr,
                 "minimax-vl: warning: %zu image file(s) of the selected items are missing, first %s; those "
                 "items are recorded as errors (relative paths resolve against %s; see --image-root)\n",
                 missing, first_missing.c_str(),
                 f.image_root.empty() ? "the dataset file's folder" : f.image_root.c_str());
  {
    std::error_code ec;
    const auto pred = std::filesystem::path(out_dir) / "predictions.jsonl";
    MVL_CHECK(f.resume || f.overwrite || !std::filesystem::exists(pred, ec) || std::filesystem::file_size(pred, ec) == 0,
              invalid_argument,
              "'{}' already holds predictions; pass --resume to continue that run, --overwrite to start over, or "
              "another --output dir",
              pred.string());
  }

  // One run per output folder, taken once the input checks pass (a bad dataset path leaves no
  // folder behind) and before the model load; held until the reports are written. A second
  // run on the folder gets exit 2. (TSV images cached above are written whole and renamed.)
  const std::shared_ptr<eval::OutputLock> lock = eval::OutputLock::acquire(out_dir);

  InterruptGuard guard;
  OpenStyle style;
  style.quiet = f.json || f.quiet;
  auto eng = open_engine(f.model, style);

  eval::RunConfig cfg;
  cfg.task = task;
  cfg.protocol = protocol;
  cfg.generation = f.gen.options();
  if (!f.max_tokens_given) cfg.generation.max_tokens = eval::default_max_tokens(task, protocol);
  cfg.system_prompt = f.gen.system;
  cfg.limit = f.limit;
  cfg.output_dir = out_dir;
  cfg.resume = f.resume;
  cfg.overwrite = f.overwrite;
  cfg.model = eval::describe_model(*eng);
  cfg.lock = lock;
  ProgressPrinter progress(task == eval::Task::docvqa ? "anls" : "acc", ::isatty(STDERR_FILENO) == 1, f.quiet);
  cfg.on_progress = [&progress](const eval::Progress& p) { progress(p); };
  cfg.stop_requested = [] { return InterruptGuard::interrupted(); };

  // The whole run counts as "generating": the first Ctrl+C stops cleanly, a second exits.
  InterruptGuard::reset();
  InterruptGuard::set_generating(true);
  // A malformed earlier predictions file is bad input (exit 4); resume conflicts are flag
  // problems (exit 2, mapped in main); anything else is a runtime failure.
  const eval::RunResult res = [&] {
    try {
      return eval::run_eval(*eng, ds, cfg);
    } catch (const Error& e) {
      if (e.category() == ErrorCategory::bad_format || e.category() == ErrorCategory::not_found)
        throw PhaseError(kExitInput, e);
      throw;
    }
  }();
  InterruptGuard::set_generating(false);
  progress.finish();

  if (f.json) {
    std::printf("%s\n", res.summary.dump(2, ' ', false, json::Json::error_handler_t::replace).c_str());
  } else {
    std::printf("%s", eval::summary_markdown(res.summary).c_str());
  }
  std::fflush(stdout);
  if (!f.quiet) {
    std::fprintf(stderr, "minimax-vl: eval: ran %zu item(s)", res.ran);
    if (res.skipped) std::fprintf(stderr, ", kept %zu from the earlier run", res.skipped);
    if (res.retried) std::fprintf(stderr, " (%zu earlier error(s) retried)", res.retried);
    if (res.changed)
      std::fprintf(stderr, " (%zu item(s) changed since the earlier run, first '%s': run again)",
                   res.changed, res.first_changed.c_str());
    std::fprintf(stderr, "; reports in %s\n", out_dir.c_str());
  }
  const int64_t errors = res.summary["errors"].get<int64_t>();
  if (errors > 0) {
    std::fprintf(stderr, "minimax-vl: warning: %lld item(s) failed; see the \"error\" field in %s\n",
                 static_cast<long long>(errors), res.predictions_path.c_str());
  }
  if (res.interrupted) {
    std::fprintf(stderr, "minimax-vl: interrupted; finished items are kept, rerun with --resume to go on\n");
    return kExitInterrupted;
  }
  return kExitOk;
}

}  // namespace

void add_eval_command(CLI::App& app, RunFn& run) {
  auto f = std::make_shared<EvalFlags>();
  CLI::App* cmd = app.add_subcommand(
      "eval",
      "Score the model on a local DocVQA (ANLS) or AI2D (multiple-choice accuracy) dataset.\n"
      "Loads the model once, answers every item greedily with the lmms-eval prompts, and writes\n"
      "predictions.jsonl, summary.json, summary.md (and submission.json for DocVQA) to --output.\n"
      "Examples:\n"
      "  minimax-vl eval docvqa --data docvqa/val.jsonl -m /models/MiniMax-VL-01 --device cuda -o runs/docvqa\n"
      "  minimax-vl eval docvqa --data val_v1.0.json --image-root docvqa/val --limit 200   # RRC release JSON\n"
      "  minimax-vl eval ai2d --data AI2D_TEST.tsv -o runs/ai2d                            # VLMEvalKit TSV\n"
      "  minimax-vl eval ai2d --data assets/eval/ai2d_sample.jsonl -o /tmp/ai2d --resume   # go on after Ctrl+C\n"
      "  minimax-vl eval docvqa --data val.jsonl --protocol cot -n 2048 --json             # CoT, summary as JSON\n"
      "Ctrl+C once: cancel the running item, keep the finished ones, write the reports (exit 130).\n"
      "Formats, metrics and how scores compare to lmms-eval / VLMEvalKit: docs/eval.md.");
  cmd->add_option("task", f->task, "docvqa or ai2d")->type_name("TASK")->required();
  cmd->add_option("dataset", f->data_pos, "The dataset file (same as --data)")->type_name("FILE");
  cmd->add_option("--data", f->data_flag,
                  "Dataset file: .jsonl (one item per line), .json (DocVQA release {\"data\": [...]} or a list) "
                  "or .tsv (VLMEvalKit)")
      ->type_name("FILE");
  cmd->add_option("--format", f->format, "Dataset format when the extension does not say: auto, jsonl, json, tsv")
      ->type_name("FMT")
      ->capture_default_str();
  cmd->add_option("--image-root", f->image_root,
                  "Folder that relative image paths resolve against (default: the dataset file's folder)")
      ->type_name("DIR");
  cmd->add_option("-o,--output", f->output, "Report folder (default: ./eval-<task>-<dataset name>)")->type_name("DIR");
  cmd->add_option("--limit", f->limit, "Run only the first N items (0 = all); --resume with a larger N goes on")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--resume", f->resume,
                "Continue the run in --output: finished items are kept, failed ones run again");
  cmd->add_flag("--overwrite", f->overwrite, "Discard an earlier run in --output");
  cmd->add_option("--protocol", f->protocol,
                  "short: the lmms-eval prompts (single word or phrase / option letter); cot: reason, then the "
                  "answer in <answer> tags (what MiniMax reports)")
      ->type_name("P")
      ->capture_default_str();
  add_model_flags(*cmd, f->model);
  add_generation_flags(*cmd, f->gen);
  if (CLI::Option* n = cmd->get_option("--max-tokens")) {
    n->description("Max new tokens per item. Default: 32 (docvqa), 16 (ai2d) as lmms-eval; 1024 with --protocol cot");
    n->default_str("");
  }
  add_json_flag(*cmd, f->json,
                "Print the summary as JSON on stdout instead of the markdown table (errors as JSON "
                "objects too)");
  cmd->add_flag("-q,--quiet", f->quiet, "No progress lines on stderr");
  cmd->callback([f, cmd, &run] {
    f->max_tokens_given = cmd->count("--max-tokens") + cmd->count("--max-new-tokens") +
                              cmd->count("--n-predict") >
                          0;
    run = [f] { return run_eval_command(*f); };
  });
}

}  // namespace mvl::cli
