// The eval loop over the engine: see runner.h. Threads: this (calling) thread submits and
// polls; the engine's worker runs the model; a std::async task decodes the next item's
// images meanwhile (Engine::prepare_image is thread-safe).
#include "app/eval/runner.h"

#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>

#include "app/eval/output_lock.h"
#include "app/eval/predictions.h"
#include "app/eval/prompts.h"
#include "app/eval/report.h"
#include "kernels/core/error.h"

namespace mvl::eval {
namespace fs = std::filesystem;
using json::Json;

namespace {

// An item's images, decoded and preprocessed, with a hash of each file's bytes (records
// carry it so two runs can be checked to have seen the same pages).
struct Prepared {
  std::vector<std::shared_ptr<const engine::PreparedImage>> images;
  std::vector<std::string> hashes;
};

Json generation_json(const RunConfig& c) {
  const auto& g = c.generation;
  return Json{{"max_tokens", g.max_tokens},
              {"temperature", g.sampling.temperature},
              {"top_p", g.sampling.top_p},
              {"top_k", g.sampling.top_k},
              {"seed", g.sampling.seed},
              {"repetition_penalty", g.sampling.repetition_penalty},
              {"stop_strings", g.stop_strings},
              {"system_prompt", c.system_prompt}};
}

Json run_json(const RunConfig& c, const Dataset& ds) {
  return Json{{"task", task_name(c.task)},
              {"protocol", protocol_name(c.protocol)},
              {"dataset", ds.path},
              {"generation", generation_json(c)},
              {"model", c.model}};
}

// --resume: the earlier run must have asked the same thing, or its scores would mix two
// experiments in one file.
void check_same_run(Json before, Json now, const std::string& path) {
  // The same model on another backend (a CPU start finished on a GPU), or reached by
  // another path, is the same run; its shape and activation precision must match.
  for (Json* j : {&before, &now}) {
    if (!j->contains("model") || !(*j)["model"].is_object()) continue;
    (*j)["model"].erase("backend");
    (*j)["model"].erase("dir");
    (*j)["model"].erase("name");  // the folder's name: another path to the same model
  }
  // A run recorded by an older minimax-vl lacks the newer descriptive keys: compare the rest.
  if (before.contains("model") && before["model"].is_object() && now["model"].is_object())
    for (auto it = now["model"].begin(); it != now["model"].end();)
      it = before["model"].contains(it.key()) ? std::next(it) : now["model"].erase(it);
  for (const char* k : {"task", "protocol", "generation", "model"}) {
    if (before.value(k, Json()) != now[k])
      throw Error(ErrorCategory::invalid_argument,
                  fmt::format("--resume: '{}' ran with {} = {}, this run asks {}; use the same settings, another "
                              "--output dir, or --overwrite",
                              path, k, before.value(k, Json()).dump(), now[k].dump()));
  }
}

bool stop(const RunConfig& c) { return c.stop_requested && c.stop_requested(); }

// True when an earlier record `r` was made for exactly this item: the same prompt, image
// paths and target, and image files whose bytes still hash as they did then.
bool same_item(const Json& r, const Item& item, const RunConfig& c) {
  const Json fresh = make_record(c.task, c.protocol, item, 0,
                                 build_prompt(c.task, c.protocol, item), nullptr, nullptr, 0);
  for (const char* k : {"prompt", "images", "target"})
    if (r.value(k, Json()) != fresh[k]) return false;
  const Json& hashes = r.value("image_fnv1a64", Json());
  if (!hashes.is_array() || hashes.size() != item.images.size()) return false;
  for (size_t i = 0; i < item.images.size(); ++i) {
    try {
      if (hashes[i] != Json(file_fnv1a64(item.images[i]))) return false;
    } catch (const Error&) {
      return false;  // the image is gone: run the item again (it will record the error)
    }
  }
  return true;
}

}  // namespace

std::string demo_reason(const engine::ModelInfo& i) {
  if (i.tiny_demo) return "the bundled tiny random demo model: its answers are gibberish";
  if (i.num_parameters < kDemoParameters)
    return fmt::format("only {} parameters (MiniMax-VL-01 has ~456 billion): a test model, "
                       "not MiniMax-VL-01",
                       i.num_parameters);
  return "";
}

Json describe_model(const engine::Engine& e) {
  const auto& i = e.info();
  std::error_code ec;
  std::string name = fs::weakly_canonical(i.dir, ec).filename().string();
  if (name.empty()) name = i.dir;
  const std::string reason = demo_reason(i);
  Json j{{"name", name},
         {"dir", i.dir},
         {"layout", i.layout},
         {"backend", i.backend},
         {"precision", i.precision},
         {"weight_dtype", i.weight_dtype},
         {"weight_bytes", i.weight_bytes},
         {"layers", i.num_layers},
         {"hidden_size", i.hidden_size},
         {"parameters", i.num_parameters},
         {"max_context", e.max_context()},
         {"tiny_demo", i.tiny_demo},
         {"demo", !reason.empty()}};
  if (!reason.empty()) j["demo_reason"] = reason;
  return j;
}

RunResult run_eval(engine::Engine& eng, const Dataset& ds, const RunConfig& cfg) {
  MVL_CHECK(cfg.task == ds.task, internal, "run_eval: the dataset was loaded for another task");
  MVL_CHECK(eng.has_vision(), unsupported, "the model in '{}' has no vision tower; DocVQA and AI2D need images",
            eng.info().dir);
  MVL_CHECK(!cfg.output_dir.empty(), invalid_argument, "an output dir is needed (--output)");
  std::error_code ec;
  // One run per folder (taken by the caller before the model load, or here).
  const std::shared_ptr<OutputLock> lock =
      cfg.lock ? cfg.lock : OutputLock::acquire(cfg.output_dir);

  RunResult res;
  const fs::path dir(cfg.output_dir);
  res.predictions_path = (dir / "predictions.jsonl").string();
  res.summary_path = (dir / "summary.json").string();
  res.markdown_path = (dir / "summary.md").string();
  const std::string run_path = (dir / "run.json").string();
  const Json this_run = run_json(cfg, ds);

  // ---- what an earlier run left ----
  PredictionsFile earlier = read_predictions(res.predictions_path);
  if (!earlier.records.empty() || earlier.dropped_torn_line) {
    if (cfg.overwrite) {
      earlier.records.clear();
    } else {
      MVL_CHECK(cfg.resume, invalid_argument,
                "'{}' already holds {} prediction(s); pass --resume to continue that run, --overwrite to start "
                "over, or another --output dir",
                res.predictions_path, earlier.records.size());
      if (fs::exists(run_path, ec)) check_same_run(json::parse_file(run_path), this_run, run_path);
    }
  }
  std::map<std::string, size_t> ids;
  for (size_t i = 0; i < ds.items.size(); ++i) ids.emplace(ds.items[i].id, i);
  std::vector<Json> records;
  for (auto& r : earlier.records) {
    const std::string id = r["id"].get<std::string>();
    const auto at = ids.find(id);
    MVL_CHECK(at != ids.end(), invalid_argument,
              "--resume: '{}' holds id '{}', which is not in '{}'; it belongs to another dataset "
              "(use another "
              "--output dir or --overwrite)",
              res.predictions_path, id, ds.path);
    if (!r.value("error", Json()).is_null()) {
      ++res.retried;  // failed items run again
      continue;
    }
    // A kept record must be of this very item: same prompt, images, target and image bytes.
    // Anything else (another dataset with the same ids, a replaced page) is run again.
    if (!same_item(r, ds.items[at->second], cfg)) {
      ++res.changed;
      if (res.first_changed.empty()) res.first_changed = id;
      continue;
    }
    records.push_back(std::move(r));
  }
  rewrite_predictions(res.predictions_path, records);  // drops retried errors and a torn line
  {
    std::ofstream f(run_path, std::ios::trunc);
    f << this_run.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    MVL_CHECK(f.good(), io, "cannot write '{}'", run_path);
  }

  // ---- the items still to run ----
  const size_t selected = cfg.limit > 0 ? std::min(ds.items.size(), static_cast<size_t>(cfg.limit)) : ds.items.size();
  std::set<std::string> finished;
  for (const auto& r : records) finished.insert(r["id"].get<std::string>());
  std::vector<size_t> pending;
  for (size_t i = 0; i < selected; ++i) {
    if (finished.count(ds.items[i].id)) ++res.skipped;
    else pending.push_back(i);
  }

  RunInfo info;
  info.task = cfg.task;
  info.protocol = cfg.protocol;
  info.dataset_path = ds.path;
  info.dataset_format = ds.format;
  info.dataset_items = ds.items.size();
  info.selected = selected;
  info.load_ms = eng.load_ms();
  info.model = cfg.model;
  info.generation = generation_json(cfg);

  // Running headline score for the progress line (errors count 0, as in the summary).
  const char* headline = cfg.task == Task::docvqa ? "anls" : "accuracy";
  double score_sum = 0;
  size_t score_n = 0, errors = 0;
  auto account = [&](const Json& r) {
    const bool failed = !r.value("error", Json()).is_null();
    errors += failed;
    const Json& target = r["target"];
    const bool has_ref = cfg.task == Task::docvqa ? !target["answers"].empty() : !target["answer"].is_null();
    if (!has_ref) return;
    const Json& v = r["scores"][headline];
    score_sum += (!failed && v.is_number()) ? v.get<double>() : 0.0;
    ++score_n;
  };
  for (const auto& r : records) account(r);

  PredictionsWriter writer(res.predictions_path);
  auto prepare = [&eng](const Item* item) {
    Prepared p;
    for (const auto& path : item->images) {
      p.images.push_back(eng.prepare_image(path));
      p.hashes.push_back(file_fnv1a64(path));
    }
    return p;
  };
  std::future<Prepared> next;
  if (!pending.empty()) next = std::async(std::launch::async, prepare, &ds.items[pending[0]]);
  const double started = engine::now_ms();

  for (size_t k = 0; k < pending.size(); ++k) {
    if (stop(cfg)) {
      res.interrupted = true;
      break;
    }
    const size_t index = pending[k];
    const Item& item = ds.items[index];
    const std::string prompt = build_prompt(cfg.task, cfg.protocol, item);
    const double t0 = engine::now_ms();

    Json record;
    std::optional<engine::ErrorEvent> failure;
    Prepared images;
    try {
      images = next.get();
    } catch (const Error& e) {
      failure = engine::ErrorEvent{e, engine::ErrorPhase::input};
    } catch (const std::exception& e) {
      failure = engine::ErrorEvent{Error(ErrorCategory::internal, e.what()), engine::ErrorPhase::runtime};
    }
    if (k + 1 < pending.size()) next = std::async(std::launch::async, prepare, &ds.items[pending[k + 1]]);

    if (!failure) {
      engine::Request req;
      req.session = eng.new_session(cfg.system_prompt);
      req.options = cfg.generation;
      for (size_t i = 0; i < images.images.size(); ++i)
        req.content.push_back(engine::ContentPart::make_image(item.images[i], images.images[i]));
      req.content.push_back(engine::ContentPart::make_text(prompt));
      engine::RequestHandle h;
      try {
        h = eng.submit(std::move(req));
      } catch (const Error& e) {
        failure = engine::ErrorEvent{e, engine::ErrorPhase::runtime};
      }
      if (!failure) {
        bool cancelled = false;
        while (!h.wait_for(50)) {
          if (!cancelled && stop(cfg)) {
            h.cancel();
            cancelled = true;
          }
        }
        if (cancelled && h.done() && h.done()->reason == engine::StopReason::cancelled) {
          res.interrupted = true;  // the unfinished item is not recorded; --resume runs it
          break;
        }
        if (h.error()) failure = *h.error();
        else record = make_record(cfg.task, cfg.protocol, item, index, prompt, &*h.done(), nullptr,
                                  engine::now_ms() - t0);
      }
    }
    if (failure) record = make_record(cfg.task, cfg.protocol, item, index, prompt, nullptr, &*failure,
                                      engine::now_ms() - t0);
    record["image_fnv1a64"] = images.hashes.empty() ? Json(nullptr) : Json(images.hashes);
    writer.append(record);
    account(record);
    records.push_back(std::move(record));
    ++res.ran;

    if (cfg.on_progress) {
      Progress p;
      p.done = records.size();
      p.selected = selected;
      p.ran = res.ran;
      p.errors = errors;
      p.elapsed_s = (engine::now_ms() - started) / 1000.0;
      p.eta_s = p.elapsed_s / static_cast<double>(res.ran) * static_cast<double>(pending.size() - k - 1);
      if (score_n) p.running_score = score_sum / static_cast<double>(score_n);
      p.last_id = item.id;
      cfg.on_progress(p);
    }
  }
  if (!res.interrupted && stop(cfg) && res.ran + res.skipped < selected) res.interrupted = true;

  info.interrupted = res.interrupted;
  res.summary = summarize(records, info);
  write_reports(cfg.output_dir, records, res.summary, cfg.task);
  return res;
}

}  // namespace mvl::eval
