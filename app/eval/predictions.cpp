// Records and the predictions JSONL file: see predictions.h.
#include "app/eval/predictions.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/eval/choice.h"
#include "app/eval/metrics.h"
#include "kernels/core/error.h"
#include "kernels/core/file_io.h"

namespace mvl::eval {
using json::Json;

namespace {

Json opt_json(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

std::string trim_copy(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string dump_line(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

Json score_response(Task task, Protocol protocol, const Item& item, const std::string& response) {
  Json out;
  if (task == Task::docvqa) {
    // Short answers are scored as the harnesses do (ANLS normalises whitespace and case
    // itself); a CoT response is scored on its extracted final answer.
    const std::string answer = protocol == Protocol::cot ? final_answer(response) : trim_copy(response);
    out["extracted"] = answer;
    out["extraction_rule"] = protocol == Protocol::cot ? "final_answer" : "whole_response";
    out["scores"] = {{"anls", opt_json(anls(answer, item.answers, AnlsImpl::lmms))},
                     {"anls_strict", opt_json(anls(answer, item.answers, AnlsImpl::strict))},
                     {"exact_match", opt_json(exact_match(answer, item.answers))}};
    return out;
  }
  const OptionChoice c = extract_option(response, item.options);
  out["extracted"] = c.index >= 0 ? Json(std::string(1, option_letter(c.index))) : Json(nullptr);
  out["extraction_rule"] = c.rule;
  if (item.answer_index < 0) {
    out["scores"] = {{"accuracy", nullptr}, {"accuracy_lmms", nullptr}};
    return out;
  }
  const std::string lmms_text = protocol == Protocol::cot ? final_answer(response) : response;
  out["scores"] = {{"accuracy", c.index == item.answer_index ? 1.0 : 0.0},
                   {"accuracy_lmms", lmms_choice_match(lmms_text, option_letter(item.answer_index)) ? 1.0 : 0.0}};
  return out;
}

Json make_record(Task task, Protocol protocol, const Item& item, size_t index, const std::string& prompt,
                 const engine::DoneEvent* done, const engine::ErrorEvent* error, double wall_ms) {
  Json r;
  r["id"] = item.id;
  r["index"] = index;
  r["question"] = item.question;
  r["images"] = item.images;
  r["prompt"] = prompt;
  if (task == Task::docvqa) {
    r["target"] = {{"answers", item.answers}};
  } else {
    r["target"] = {{"options", item.options},
                   {"answer", item.answer_index >= 0 ? Json(std::string(1, option_letter(item.answer_index)))
                                                     : Json(nullptr)}};
  }
  r["wall_ms"] = wall_ms;
  if (error != nullptr || done == nullptr) {
    r["response"] = nullptr;
    r["extracted"] = nullptr;
    r["scores"] = task == Task::docvqa ? Json{{"anls", nullptr}, {"anls_strict", nullptr}, {"exact_match", nullptr}}
                                       : Json{{"accuracy", nullptr}, {"accuracy_lmms", nullptr}};
    r["error"] = {{"phase", error && error->phase == engine::ErrorPhase::input ? "input" : "runtime"},
                  {"message", error ? std::string(error->error.what()) : std::string("no result")}};
    return r;
  }
  r["response"] = done->text;
  r.update(score_response(task, protocol, item, done->text));
  r["finish_reason"] = engine::stop_reason_name(done->reason);
  Json images = Json::array();
  for (const auto& im : done->images)
    images.push_back({{"width", im.width},
                      {"height", im.height},
                      {"grid", {im.grid_rows, im.grid_cols}},
                      {"image_tokens", im.image_tokens},
                      {"preprocess_ms", im.preprocess_ms},
                      {"encode_ms", im.encode_ms}});
  r["image_info"] = images;
  const auto& u = done->usage;
  r["usage"] = {{"prompt_tokens", u.prompt_tokens},
                {"image_tokens", u.image_tokens},
                {"completion_tokens", u.completion_tokens}};
  const auto& t = done->timings;
  r["timings"] = {{"image_encode_ms", t.image_encode_ms}, {"prefill_ms", t.prefill_ms},
                  {"prefill_tokens_per_s", t.prefill_tokens_per_s}, {"ttft_ms", t.ttft_ms},
                  {"decode_ms", t.decode_ms}, {"decode_tokens_per_s", t.decode_tokens_per_s},
                  {"total_ms", t.total_ms}};
  r["error"] = nullptr;
  return r;
}

std::string file_fnv1a64(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  MVL_CHECK(f.good(), not_found, "image '{}': cannot open the file", path);
  uint64_t h = 0xcbf29ce484222325ull;
  char buf[1 << 16];
  while (f.read(buf, sizeof(buf)) || f.gcount() > 0) {
    for (std::streamsize i = 0; i < f.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buf[i]);
      h *= 0x100000001b3ull;
    }
    if (!f) break;
  }
  MVL_CHECK(!f.bad(), io, "image '{}': read failed", path);
  return fmt::format("{:016x}", h);
}

PredictionsFile read_predictions(const std::string& path) {
  PredictionsFile out;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return out;
  const std::string text = read_regular_file(path, kMaxDatasetFileBytes);
  const std::string name = std::filesystem::path(path).filename().string();
  std::istringstream in(text);
  std::string line;
  std::vector<std::pair<size_t, std::string>> lines;
  for (size_t n = 1; std::getline(in, line); ++n)
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.emplace_back(n, line);
  const bool ends_with_newline = !text.empty() && text.back() == '\n';
  for (size_t k = 0; k < lines.size(); ++k) {
    Json j;
    try {
      j = Json::parse(lines[k].second);
    } catch (const Json::exception&) {  // parse_error, or out_of_range for 1e999 (fuzzing)
      if (k + 1 == lines.size() && !ends_with_newline) {  // torn by a crash mid-write
        out.dropped_torn_line = 1;
        break;
      }
      throw Error(ErrorCategory::bad_format,
                  fmt::format("{}:{}: not valid JSON; fix or delete the line, or start over with --overwrite", name,
                              lines[k].first));
    }
    MVL_CHECK(j.is_object() && j.contains("id") && j["id"].is_string(), bad_format,
              "{}:{}: a prediction record needs a string 'id'", name, lines[k].first);
    out.records.push_back(std::move(j));
  }
  return out;
}

void rewrite_predictions(const std::string& path, const std::vector<Json>& records) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    MVL_CHECK(f.good(), io, "cannot write '{}'", tmp);
    for (const auto& r : records) f << dump_line(r) << '\n';
    f.flush();
    MVL_CHECK(f.good(), io, "cannot write '{}'", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  MVL_CHECK(!ec, io, "cannot replace '{}': {}", path, ec.message());
}

PredictionsWriter::PredictionsWriter(const std::string& path) : path_(path) {
  f_ = std::fopen(path.c_str(), "ab");
  MVL_CHECK(f_ != nullptr, io, "cannot open '{}' for appending: {}", path, std::strerror(errno));
}

PredictionsWriter::~PredictionsWriter() {
  if (f_) std::fclose(f_);
}

void PredictionsWriter::append(const Json& record) {
  const std::string line = dump_line(record) + "\n";
  const bool ok = std::fwrite(line.data(), 1, line.size(), f_) == line.size() && std::fflush(f_) == 0;
  MVL_CHECK(ok, io, "cannot append to '{}': {}", path_, std::strerror(errno));
}

}  // namespace mvl::eval
