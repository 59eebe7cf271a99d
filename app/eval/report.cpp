// Summary, markdown table and DocVQA submission from prediction records: see report.h.
#include "app/eval/report.h"

#include <filesystem>
#include <fstream>
#include <map>

#include "app/engine/loading/load_progress.h"
#include "kernels/core/error.h"

namespace mvl::eval {
using json::Json;

namespace {

double num(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return (it != obj.end() && it->is_number()) ? it->get<double>() : 0.0;
}

Json ratio(double a, double b) {
  return b > 0 ? Json(a / b) : Json(nullptr);
}

std::string fmt_score(const Json& v) {
  return v.is_number() ? fmt::format("{:.2f}", 100.0 * v.get<double>()) : "-";
}
std::string fmt_rate(const Json& v) {
  return v.is_number() ? fmt::format("{:.2f}", v.get<double>()) : "-";
}

// 812345 -> "0.81M", 456e9 -> "456.0B" (parameter counts).
std::string fmt_count(double n) {
  if (n >= 1e9) return fmt::format("{:.1f}B", n / 1e9);
  if (n >= 1e6) return fmt::format("{:.2f}M", n / 1e6);
  if (n >= 1e3) return fmt::format("{:.1f}K", n / 1e3);
  return fmt::format("{:.0f}", n);
}


std::string str(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return (it != obj.end() && it->is_string()) ? it->get<std::string>() : std::string("?");
}

// "Model: **name** (0.81M parameters, 1.6 MB of bf16 weights; f32 activations on cpu)" and,
// for a demo model, a quoted warning that the scores mean nothing.
std::string model_lines(const Json& s) {
  auto it = s.find("model");
  if (it == s.end() || !it->is_object()) return "";
  const Json& m = *it;
  std::string md = fmt::format(
      "Model: **{}** ({} parameters, {} of {} weights; {} activations on {})\n\n", str(m, "name"),
      fmt_count(num(m, "parameters")), engine::human_bytes(num(m, "weight_bytes")), str(m, "weight_dtype"),
      str(m, "precision"), str(m, "backend"));
  if (m.value("demo", false))
    md += fmt::format(
        "> **DEMO MODEL, NOT MiniMax-VL-01**: {}. These scores say nothing about MiniMax-VL-01; "
        "run with -m /path/to/MiniMax-VL-01 for real numbers.\n\n",
        str(m, "demo_reason"));
  return md;
}

void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << text;
  f.flush();
  MVL_CHECK(f.good(), io, "cannot write '{}'", p.string());
}

}  // namespace

Json summarize(const std::vector<Json>& records, const RunInfo& info) {
  const bool docvqa = info.task == Task::docvqa;
  const std::vector<std::string> metrics =
      docvqa ? std::vector<std::string>{"anls", "anls_strict", "exact_match"}
             : std::vector<std::string>{"accuracy", "accuracy_lmms"};
  const std::string headline = metrics.front();
  std::map<std::string, double> sum, sum_ok;
  size_t scored = 0, scored_ok = 0, errors = 0, unscored = 0, unextracted = 0, images = 0;
  double wall_ms = 0, prefill_ms = 0, decode_ms = 0, encode_ms = 0, ttft_ms = 0;
  double prompt_tokens = 0, image_tokens = 0, completion_tokens = 0, decode_tokens = 0;
  std::map<std::string, int64_t> finish;
  for (const auto& r : records) {
    const bool failed = r.contains("error") && !r["error"].is_null();
    const bool has_ref = docvqa ? (r.contains("target") && !r["target"]["answers"].empty())
                                : (r.contains("target") && !r["target"]["answer"].is_null());
    errors += failed;
    if (!has_ref) {
      ++unscored;
    } else {
      ++scored;
      scored_ok += !failed;
      for (const auto& m : metrics) {
        const double v = failed ? 0.0 : num(r["scores"], m.c_str());
        sum[m] += v;
        if (!failed) sum_ok[m] += v;
      }
    }
    wall_ms += num(r, "wall_ms");
    if (failed) continue;
    if (!docvqa && r.value("extracted", Json()).is_null()) ++unextracted;
    images += r.value("images", Json::array()).size();
    finish[r.value("finish_reason", std::string("unknown"))]++;
    const Json& t = r["timings"];
    const Json& u = r["usage"];
    prefill_ms += num(t, "prefill_ms");
    decode_ms += num(t, "decode_ms");
    encode_ms += num(t, "image_encode_ms");
    ttft_ms += num(t, "ttft_ms");
    decode_tokens += num(t, "decode_tokens_per_s") * num(t, "decode_ms") / 1000.0;
    prompt_tokens += num(u, "prompt_tokens");
    image_tokens += num(u, "image_tokens");
    completion_tokens += num(u, "completion_tokens");
  }
  const size_t ok = records.size() - errors;

  Json scores;
  for (const auto& m : metrics) scores[m] = scored ? Json(sum[m] / scored) : Json(nullptr);
  scores[headline + "_excluding_errors"] =
      scored_ok ? Json(sum_ok[headline] / scored_ok) : Json(nullptr);
  if (!docvqa) scores["unextracted"] = unextracted;

  Json s;
  s["task"] = task_name(info.task);
  s["protocol"] = protocol_name(info.protocol);
  s["metric"] = headline;
  s["score"] = scores[headline];
  s["scores"] = scores;
  s["dataset"] = {
      {"path", info.dataset_path}, {"format", info.dataset_format}, {"items", info.dataset_items}};
  s["selected"] = info.selected;
  s["done"] = records.size();
  s["complete"] = records.size() >= info.selected && !info.interrupted;
  s["interrupted"] = info.interrupted;
  s["scored"] = scored;
  s["errors"] = errors;
  s["unscored"] = unscored;
  s["finish_reasons"] = finish;
  s["tokens"] = {
      {"prompt", prompt_tokens}, {"image", image_tokens}, {"completion", completion_tokens}};
  s["timings"] = {{"wall_s", wall_ms / 1000.0},
                  {"items_per_s", ratio(static_cast<double>(records.size()), wall_ms / 1000.0)},
                  {"images_per_s", ratio(static_cast<double>(images), wall_ms / 1000.0)},
                  {"image_encode_ms_per_image", ratio(encode_ms, static_cast<double>(images))},
                  {"prefill_tokens_per_s", ratio(prompt_tokens, prefill_ms / 1000.0)},
                  {"decode_tokens_per_s", ratio(decode_tokens, decode_ms / 1000.0)},
                  {"mean_ttft_ms", ratio(ttft_ms, static_cast<double>(ok))},
                  {"load_ms", info.load_ms}};
  s["model"] = info.model;
  s["generation"] = info.generation;
  return s;
}

std::string summary_markdown(const Json& s) {
  const Json& t = s["timings"];
  std::string md = model_lines(s);
  md += fmt::format(
      "| task | protocol | {} | n | errors | unscored | images/s | prefill tok/s | decode tok/s | "
      "wall s |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
      "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1f} |\n",
      s["metric"].get<std::string>(), s["task"].get<std::string>(),
      s["protocol"].get<std::string>(), fmt_score(s["score"]), s["scored"].get<int64_t>(),
      s["errors"].get<int64_t>(), s["unscored"].get<int64_t>(), fmt_rate(t["images_per_s"]),
      fmt_rate(t["prefill_tokens_per_s"]), fmt_rate(t["decode_tokens_per_s"]),
      t["wall_s"].get<double>());
  std::string others;
  for (const auto& [k, v] : s["scores"].items()) {
    if (k == s["metric"].get<std::string>() || k == "unextracted") continue;
    others += fmt::format("{}{} {}", others.empty() ? "" : ", ", k, fmt_score(v));
  }
  md += fmt::format("\nScores x100, errors counted as 0. Also: {}.", others);
  if (s["scores"].contains("unextracted"))
    md += fmt::format(" No option read from {} response(s).",
                      s["scores"]["unextracted"].get<int64_t>());
  md += fmt::format(" {} of {} selected items done{}.\n", s["done"].get<int64_t>(),
                    s["selected"].get<int64_t>(),
                    s["interrupted"].get<bool>() ? " (interrupted: rerun with --resume)" : "");
  return md;
}

Json docvqa_submission(const std::vector<Json>& records) {
  Json out = Json::array();
  for (const auto& r : records) {
    const std::string id = r["id"].get<std::string>();
    Json qid = id;
    if (!id.empty() && id.size() < 18 && id.find_first_not_of("0123456789") == std::string::npos)
      qid = std::stoll(id);  // the RRC server expects integer question ids
    const Json& a = r.value("extracted", Json());
    out.push_back(
        {{"questionId", qid}, {"answer", a.is_string() ? a.get<std::string>() : std::string()}});
  }
  return out;
}

void write_reports(const std::string& dir, const std::vector<Json>& records, const Json& summary,
                   Task task) {
  const std::filesystem::path d(dir);
  write_text(d / "summary.json",
             summary.dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
  write_text(d / "summary.md", summary_markdown(summary));
  if (task == Task::docvqa)
    write_text(
        d / "submission.json",
        docvqa_submission(records).dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
}

}  // namespace mvl::eval
