// Eval datasets read from local files (nothing is downloaded): DocVQA-style questions with
// a list of acceptable answers and AI2D-style multiple choice. Formats: JSONL (one item per
// line), the DocVQA RRC release JSON ({"data": [...]}) or any JSON list of items, and
// VLMEvalKit TSVs (base64 images are written once to a cache dir). Field names and
// examples: docs/eval.md. Images are checked when an item runs, not here.
#pragma once

#include <string>
#include <vector>

namespace mvl::eval {

enum class Task { docvqa, ai2d };
const char* task_name(Task t);             // "docvqa" | "ai2d"
Task parse_task(const std::string& s);     // throws Error{invalid_argument}

struct Item {
  std::string id;                   // unique in the dataset (questionId / id / index, else the 0-based position)
  std::string question;
  std::vector<std::string> images;  // resolved paths, in prompt order (at least one)
  std::vector<std::string> answers; // docvqa: acceptable answers; empty = unscored (test split)
  std::vector<std::string> options; // ai2d: option texts, A first
  int answer_index = -1;            // ai2d: the correct option; -1 = unscored
  std::string where;                // "file:line" (or "file: item k") for messages
};

struct Dataset {
  Task task = Task::docvqa;
  std::string path;
  std::string format;  // "jsonl" | "json" | "tsv"
  std::vector<Item> items;
};

struct LoadOptions {
  std::string format = "auto";  // auto (by extension) | jsonl | json | tsv
  // Relative image paths resolve against this dir; empty: the dataset file's own dir.
  std::string image_root;
  // Where base64 images embedded in a TSV are written (<dir>/<index>-<hash>.<ext>); required only
  // for such TSVs.
  std::string image_cache_dir;
};

// Throws Error{not_found} for a missing file, Error{bad_format} naming "file:line" for a
// malformed line or record, Error{invalid_argument} for a bad --format.
Dataset load_dataset(Task task, const std::string& path, const LoadOptions& opts = {});

// ---- pieces shared by the format readers (dataset.cpp, dataset_tsv.cpp) ----

// Parses a record's answer field given as an index ("2", 2) or a letter ("C") for
// `num_options` options; throws Error{bad_format} naming `where`.
int parse_answer_index(const std::string& value, size_t num_options, const std::string& where);
// Resolves an image path from the dataset against `root` (absolute paths kept).
std::string resolve_image(const std::string& p, const std::string& root);
// Checks ids are unique and items complete for `task`; throws naming both places.
void validate_items(Task task, const std::vector<Item>& items);

Dataset load_tsv(Task task, const std::string& path, const LoadOptions& opts);  // dataset_tsv.cpp

}  // namespace mvl::eval
