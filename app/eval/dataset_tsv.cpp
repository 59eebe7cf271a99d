// VLMEvalKit TSV datasets (DocVQA_VAL.tsv, AI2D_TEST.tsv): a header row, one record per row,
// fields quoted the pandas way ("..." with "" for a quote; newlines allowed inside).
// Images come as base64 in `image` (written once to the cache dir; a short value names
// the row whose image it shares) or as paths in `image_path`. DocVQA answers are a Python
// list literal ("['1/8', 'one-eighth']"); AI2D options are the columns A, B, C, ...
#include <unistd.h>

#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>

#include "app/eval/dataset.h"
#include "kernels/core/error.h"
#include "kernels/core/file_io.h"
#include "kernels/core/json.h"

namespace mvl::eval {
namespace fs = std::filesystem;

namespace {

struct Row {
  std::vector<std::string> fields;
  size_t line = 0;  // 1-based line where the row starts
};

std::vector<Row> split_tsv(const std::string& text, const std::string& name) {
  std::vector<Row> rows;
  Row row;
  std::string field;
  size_t line = 1;
  row.line = 1;
  bool quoted = false, at_field_start = true, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && at_field_start) {
      quoted = true;
      at_field_start = false;
      any = true;
    } else if (c == '\t') {
      row.fields.push_back(std::move(field));
      field.clear();
      at_field_start = true;
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !field.empty()) {
        row.fields.push_back(std::move(field));
        rows.push_back(std::move(row));
      }
      field.clear();
      row = Row{};
      row.line = ++line;
      at_field_start = true;
      any = false;
    } else {
      field.push_back(c);
      at_field_start = false;
      any = true;
    }
  }
  MVL_CHECK(!quoted, bad_format, "{}:{}: a quoted field is never closed", name, row.line);
  if (any || !field.empty()) {
    row.fields.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string decode_base64(const std::string& s, const std::string& where) {
  static const std::array<int8_t, 256> table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(abc[i])] = static_cast<int8_t>(i);
    t['-'] = 62;  // the URL-safe alphabet too
    t['_'] = 63;
    return t;
  }();
  std::string out;
  out.reserve(s.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    const int v = table[static_cast<unsigned char>(c)];
    MVL_CHECK(v >= 0, bad_format, "{}: 'image' is not base64 (found '{}')", where, c);
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string image_extension(const std::string& bytes) {
  if (bytes.rfind("\x89PNG", 0) == 0) return ".png";
  if (bytes.rfind("\xFF\xD8", 0) == 0) return ".jpg";
  if (bytes.size() > 12 && bytes.compare(0, 4, "RIFF") == 0 && bytes.compare(8, 4, "WEBP") == 0) return ".webp";
  if (bytes.rfind("GIF8", 0) == 0) return ".gif";
  if (bytes.rfind("BM", 0) == 0) return ".bmp";
  return ".img";  // the decoder reports what it is when the item runs
}

// A Python list literal of strings ("['a', \"b's\"]") or, failing that, one plain answer.
std::vector<std::string> parse_answer_list(const std::string& s, const std::string& where) {
  size_t i = s.find_first_not_of(" \t");
  if (i == std::string::npos || s[i] != '[') return {s};
  std::vector<std::string> out;
  ++i;
  auto skip_ws = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) ++i;
  };
  for (skip_ws(); i < s.size() && s[i] != ']'; skip_ws()) {
    const char q = s[i];
    MVL_CHECK(q == '\'' || q == '"', bad_format, "{}: 'answer' list holds a non-string at '{}'", where, s.substr(i, 12));
    std::string v;
    for (++i; i < s.size() && s[i] != q; ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) {
        const char e = s[++i];
        v.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
      } else {
        v.push_back(s[i]);
      }
    }
    MVL_CHECK(i < s.size(), bad_format, "{}: 'answer' list has an unterminated string", where);
    ++i;  // closing quote
    out.push_back(std::move(v));
  }
  MVL_CHECK(i < s.size(), bad_format, "{}: 'answer' list is not closed with ']'", where);
  return out;
}

// A cache file name for an image: the row index made safe (anything but [A-Za-z0-9_-] becomes
// '_', at most 48 chars: no paths out of the cache dir, whatever the TSV holds) plus a hash of
// the image bytes, so two ids that clean to the same stem ("a.b" / "a_b", or equal in their
// first chars) can never share a file, and a stale file of the same size is never reused.
std::string cache_file_stem(const std::string& id, const std::string& bytes) {
  std::string s = id.substr(0, 48);
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) c = '_';
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return fmt::format("{}-{:016x}", s.empty() ? "_" : s, h);
}

}  // namespace

Dataset load_tsv(Task task, const std::string& path, const LoadOptions& opts) {
  const std::string name = fs::path(path).filename().string();
  const std::string root = opts.image_root.empty() ? fs::path(path).parent_path().string() : opts.image_root;
  const std::vector<Row> rows = split_tsv(read_regular_file(path, kMaxDatasetFileBytes), name);
  MVL_CHECK(!rows.empty(), bad_format, "{}: empty file; expected a header row (index, question, ...)", name);
  std::map<std::string, size_t> col;
  for (size_t c = 0; c < rows[0].fields.size(); ++c) col[rows[0].fields[c]] = c;
  auto has = [&](const char* k) { return col.count(k) > 0; };
  MVL_CHECK(has("question"), bad_format, "{}:1: the header has no 'question' column", name);
  MVL_CHECK(has("image") || has("image_path"), bad_format, "{}:1: the header has neither 'image' nor 'image_path'",
            name);

  Dataset ds;
  ds.task = task;
  ds.path = path;
  ds.format = "tsv";
  std::map<std::string, std::string> image_of_index;  // index -> written file (shared images)
  for (size_t r = 1; r < rows.size(); ++r) {
    const Row& row = rows[r];
    const std::string where = fmt::format("{}:{}", name, row.line);
    MVL_CHECK(row.fields.size() == rows[0].fields.size(), bad_format, "{}: {} fields, the header has {}", where,
              row.fields.size(), rows[0].fields.size());
    auto get = [&](const std::string& k) -> const std::string& { return row.fields[col.at(k)]; };
    Item it;
    it.where = where;
    it.id = has("index") ? get("index") : std::to_string(r - 1);
    MVL_CHECK(!it.id.empty(), bad_format, "{}: empty 'index'; every row needs an id", where);
    it.question = get("question");
    if (has("hint") && !get("hint").empty() && get("hint") != "nan") it.question = "Hint: " + get("hint") + "\n" + it.question;

    if (has("image_path") && !get("image_path").empty()) {
      for (const auto& p : parse_answer_list(get("image_path"), where)) it.images.push_back(resolve_image(p, root));
    } else {
      // Found by fuzzing: an empty image_path without an image column reached map::at.
      MVL_CHECK(has("image"), bad_format, "{}: empty 'image_path'", where);
      const std::string& b64 = get("image");
      MVL_CHECK(!b64.empty(), bad_format, "{}: empty 'image'", where);
      if (b64.size() <= 64 && image_of_index.count(b64)) {
        it.images.push_back(image_of_index.at(b64));  // VLMEvalKit: a row index standing for its image
      } else {
        MVL_CHECK(!opts.image_cache_dir.empty(), invalid_argument,
                  "{}: the TSV embeds base64 images; an image cache dir is needed to write them", where);
        const std::string bytes = decode_base64(b64, where);
        const fs::path file = fs::path(opts.image_cache_dir) /
                              (cache_file_stem(it.id, bytes) + image_extension(bytes));
        std::error_code ec;
        if (!fs::is_regular_file(file, ec) || fs::file_size(file, ec) != bytes.size()) {
          fs::create_directories(opts.image_cache_dir, ec);
          // Written whole, then renamed into place: a reader never sees half a file.
          const fs::path tmp = file.string() + ".tmp" + std::to_string(::getpid());
          {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
            MVL_CHECK(out.good(), io, "{}: cannot write the image to '{}'", where, tmp.string());
          }
          fs::rename(tmp, file, ec);
          MVL_CHECK(!ec, io, "{}: cannot write the image to '{}': {}", where, file.string(),
                    ec.message());
        }
        it.images.push_back(file.string());
      }
      image_of_index[it.id] = it.images.front();
    }

    if (task == Task::docvqa) {
      if (has("answer") && !get("answer").empty()) it.answers = parse_answer_list(get("answer"), where);
    } else {
      for (char L = 'A'; L <= 'Z'; ++L) {
        const std::string k(1, L);
        if (!has(k.c_str()) || get(k).empty() || get(k) == "nan") break;
        it.options.push_back(get(k));
      }
      if (has("answer") && !get("answer").empty())
        it.answer_index = parse_answer_index(get("answer"), it.options.size(), where);
    }
    ds.items.push_back(std::move(it));
  }
  return ds;
}

}  // namespace mvl::eval
