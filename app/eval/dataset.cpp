// JSON and JSONL eval datasets (and the format dispatch): see dataset.h and docs/eval.md.
#include "app/eval/dataset.h"

#include <filesystem>
#include <map>
#include <sstream>

#include "kernels/core/error.h"
#include "kernels/core/file_io.h"
#include "kernels/core/json.h"

namespace mvl::eval {
namespace fs = std::filesystem;
using json::Json;

namespace {

std::string scalar_to_string(const Json& v, const std::string& key, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  throw Error(ErrorCategory::bad_format,
              fmt::format("{}: '{}' must be a string or an integer, got {}", where, key, json::type_name(v)));
}

const Json* first_of(const Json& obj, std::initializer_list<const char*> keys, std::string* which) {
  for (const char* k : keys) {
    auto it = obj.find(k);
    if (it != obj.end() && !it->is_null()) {
      *which = k;
      return &*it;
    }
  }
  return nullptr;
}

std::vector<std::string> string_list(const Json& v, const std::string& key, const std::string& where) {
  std::vector<std::string> out;
  if (v.is_string()) return {v.get<std::string>()};
  MVL_CHECK(v.is_array(), bad_format, "{}: '{}' must be a string or a list of strings, got {}", where, key,
            json::type_name(v));
  for (const auto& e : v) {
    MVL_CHECK(e.is_string() || e.is_number(), bad_format, "{}: '{}' must hold strings, found {}", where, key,
              json::type_name(e));
    out.push_back(e.is_string() ? e.get<std::string>() : e.dump());
  }
  return out;
}

// One record (a JSONL line or an element of a JSON list) -> Item. Field aliases follow
// the DocVQA RRC release, lmms-lab parquet exports and the original AI2D release.
Item parse_record(Task task, const Json& r, size_t position, const std::string& where, const std::string& root) {
  MVL_CHECK(r.is_object(), bad_format, "{}: expected a JSON object per item, got {}", where, json::type_name(r));
  Item it;
  it.where = where;
  std::string key;
  if (const Json* id = first_of(r, {"questionId", "question_id", "id", "index"}, &key))
    it.id = scalar_to_string(*id, key, where);
  else
    it.id = std::to_string(position);
  MVL_CHECK(!it.id.empty(), bad_format, "{}: empty '{}'; every item needs an id", where, key);

  const Json* q = first_of(r, {"question"}, &key);
  MVL_CHECK(q != nullptr, bad_format, "{}: missing 'question'", where);
  MVL_CHECK(q->is_string(), bad_format, "{}: 'question' must be a string, got {}", where, json::type_name(*q));
  it.question = q->get<std::string>();

  const Json* im = first_of(r, {"image", "images", "image_path", "imageName"}, &key);
  MVL_CHECK(im != nullptr, bad_format,
            "{}: no image: give 'image' (a path, relative to the dataset file) or 'images' (a list)", where);
  for (const auto& p : string_list(*im, key, where)) {
    MVL_CHECK(!p.empty(), bad_format, "{}: '{}' holds an empty path", where, key);
    it.images.push_back(resolve_image(p, root));
  }
  MVL_CHECK(!it.images.empty(), bad_format, "{}: '{}' is an empty list", where, key);

  if (task == Task::docvqa) {
    if (const Json* a = first_of(r, {"answers", "answer"}, &key)) it.answers = string_list(*a, key, where);
    return it;
  }
  const Json* opts = first_of(r, {"options", "choices", "answerTexts"}, &key);
  MVL_CHECK(opts != nullptr, bad_format, "{}: missing 'options' (the list of choices)", where);
  it.options = string_list(*opts, key, where);
  if (const Json* a = first_of(r, {"answer", "correctAnswer", "label"}, &key))
    it.answer_index = parse_answer_index(scalar_to_string(*a, key, where), it.options.size(), where);
  return it;
}

std::string detect_format(const std::string& path, const std::string& requested) {
  if (requested != "auto") {
    MVL_CHECK(requested == "jsonl" || requested == "json" || requested == "tsv", invalid_argument,
              "--format '{}' is not a dataset format; use auto, jsonl, json or tsv", requested);
    return requested;
  }
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".jsonl" || ext == ".ndjson") return "jsonl";
  if (ext == ".json") return "json";
  if (ext == ".tsv") return "tsv";
  throw Error(ErrorCategory::invalid_argument,
              fmt::format("dataset '{}': cannot tell the format from the extension '{}'; pass --format "
                          "jsonl|json|tsv (parquet: convert to JSONL first, see docs/eval.md)",
                          path, ext));
}

}  // namespace

const char* task_name(Task t) { return t == Task::ai2d ? "ai2d" : "docvqa"; }

Task parse_task(const std::string& s) {
  if (s == "docvqa") return Task::docvqa;
  if (s == "ai2d") return Task::ai2d;
  throw Error(ErrorCategory::invalid_argument,
              fmt::format("'{}' is not an eval task; use docvqa (ANLS) or ai2d (multiple-choice accuracy)", s));
}

int parse_answer_index(const std::string& value, size_t num_options, const std::string& where) {
  MVL_CHECK(num_options >= 2 && num_options <= 26, bad_format, "{}: {} options; expected 2 to 26", where,
            num_options);
  int idx = -1;
  if (value.size() == 1 && value[0] >= 'A' && value[0] <= 'Z') {
    idx = value[0] - 'A';
  } else if (!value.empty() && value.size() <= 3 && value.find_first_not_of("0123456789") == std::string::npos) {
    idx = std::stoi(value);
  } else {
    throw Error(ErrorCategory::bad_format,
                fmt::format("{}: answer '{}' is neither an option index (0-based) nor a letter", where, value));
  }
  MVL_CHECK(idx >= 0 && static_cast<size_t>(idx) < num_options, bad_format,
            "{}: answer '{}' is out of range for {} options", where, value, num_options);
  return idx;
}

std::string resolve_image(const std::string& p, const std::string& root) {
  const fs::path fp(p);
  if (fp.is_absolute() || root.empty()) return p;
  return (fs::path(root) / fp).lexically_normal().string();
}

void validate_items(Task task, const std::vector<Item>& items) {
  std::map<std::string, const Item*> seen;
  for (const auto& it : items) {
    auto [pos, fresh] = seen.emplace(it.id, &it);
    MVL_CHECK(fresh, bad_format, "{}: id '{}' repeats {}; ids must be unique so a run can resume", it.where, it.id,
              pos->second->where);
    if (task == Task::ai2d)
      MVL_CHECK(it.options.size() >= 2 && it.options.size() <= 26, bad_format, "{}: {} options; expected 2 to 26",
                it.where, it.options.size());
  }
}

Dataset load_dataset(Task task, const std::string& path, const LoadOptions& opts) {
  std::error_code ec;
  MVL_CHECK(fs::exists(path, ec), not_found, "dataset '{}': no such file", path);
  MVL_CHECK(fs::is_regular_file(path, ec), invalid_argument, "dataset '{}': not a regular file", path);
  Dataset ds;
  ds.task = task;
  ds.path = path;
  ds.format = detect_format(path, opts.format);
  const std::string root = opts.image_root.empty() ? fs::path(path).parent_path().string() : opts.image_root;
  const std::string name = fs::path(path).filename().string();

  if (ds.format == "tsv") {
    Dataset t = load_tsv(task, path, opts);
    validate_items(task, t.items);
    return t;
  }
  const std::string text = read_regular_file(path, kMaxDatasetFileBytes);
  if (ds.format == "jsonl") {
    std::istringstream in(text);
    std::string line;
    for (size_t lineno = 1; std::getline(in, line); ++lineno) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      const std::string where = fmt::format("{}:{}", name, lineno);
      Json r;
      try {
        r = Json::parse(line);
      } catch (const Json::exception& e) {  // parse_error, or out_of_range for 1e999 (fuzzing)
        throw Error(ErrorCategory::bad_format, fmt::format("{}: not valid JSON ({})", where, e.what()));
      }
      ds.items.push_back(parse_record(task, r, ds.items.size(), where, root));
    }
  } else {
    const Json doc = json::parse(text, name);
    const Json* list = &doc;
    if (doc.is_object()) {
      auto it = doc.find("data");
      MVL_CHECK(it != doc.end() && it->is_array(), bad_format,
                "{}: expected a JSON list of items or an object with a 'data' list (the DocVQA release layout)",
                name);
      list = &*it;
    }
    MVL_CHECK(list->is_array(), bad_format, "{}: expected a JSON list of items, got {}", name,
              json::type_name(*list));
    for (size_t k = 0; k < list->size(); ++k)
      ds.items.push_back(parse_record(task, (*list)[k], k, fmt::format("{}: item {}", name, k), root));
  }
  validate_items(task, ds.items);
  return ds;
}

}  // namespace mvl::eval
