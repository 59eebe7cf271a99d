// safetensors reader (strict validation), sharded checkpoints and the writer.
#include "kernels/core/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "kernels/core/error.h"
#include "kernels/core/json.h"

namespace mvl {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void bad(const std::string& path, const std::string& problem) {
  throw Error(ErrorCategory::bad_format, fmt::format("'{}': {}", path, problem));
}

uint64_t read_u64_le(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Parses one tensor entry of the header into `info`; `path` for messages.
TensorInfo parse_entry(const std::string& path, const std::string& name, const json::Json& e) {
  TensorInfo info;
  info.name = name;
  if (!e.is_object()) bad(path, fmt::format("tensor '{}': entry is not an object", name));
  auto dt = e.find("dtype");
  if (dt == e.end() || !dt->is_string()) bad(path, fmt::format("tensor '{}': missing or non-string dtype", name));
  if (!dtype_from_safetensors(dt->get<std::string>(), &info.dtype))
    bad(path, fmt::format("tensor '{}': unknown dtype '{}'", name, dt->get<std::string>()));
  auto sh = e.find("shape");
  if (sh == e.end() || !sh->is_array()) bad(path, fmt::format("tensor '{}': missing shape", name));
  for (const auto& d : *sh) {
    if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0))
      bad(path, fmt::format("tensor '{}': shape has a non-integer or negative dimension", name));
    const uint64_t v = d.get<uint64_t>();
    if (v > (uint64_t{1} << 40)) bad(path, fmt::format("tensor '{}': dimension {} is absurdly large", name, v));
    info.shape.push_back(static_cast<int64_t>(v));
  }
  auto off = e.find("data_offsets");
  if (off == e.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    bad(path, fmt::format("tensor '{}': data_offsets must be two non-negative integers", name));
  info.begin = (*off)[0].get<uint64_t>();
  info.end = (*off)[1].get<uint64_t>();
  if (info.end < info.begin) bad(path, fmt::format("tensor '{}': data_offsets end < begin", name));
  // numel * size, guarding overflow: each dim <= 2^40 and at most a handful of dims.
  long double want = dtype_size(info.dtype);
  for (auto d : info.shape) want *= static_cast<long double>(d);
  if (want != static_cast<long double>(info.end - info.begin))
    bad(path, fmt::format("tensor '{}': {} {} needs {} bytes but data_offsets span {}", name,
                          dtype_safetensors_name(info.dtype), shape_str(info.shape),
                          static_cast<unsigned long long>(want), info.end - info.begin));
  return info;
}

}  // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto f = std::shared_ptr<SafetensorsFile>(new SafetensorsFile());
  f->path_ = path;
  f->map_ = std::make_shared<MmapStorage>(path);
  const size_t size = f->map_->size();
  const auto* bytes = static_cast<const unsigned char*>(f->map_->data());
  if (size < 8) bad(path, fmt::format("file is {} bytes, too short for a safetensors header", size));
  const uint64_t n = read_u64_le(bytes);
  if (n > kSafetensorsMaxHeader)
    bad(path, fmt::format("header length {} exceeds the {} byte cap", n, kSafetensorsMaxHeader));
  if (n + 8 > size) bad(path, fmt::format("header length {} runs past the end of the {}-byte file", n, size));
  if (n < 2 || bytes[8] != '{') bad(path, "header does not start with a JSON object");
  const std::string text(reinterpret_cast<const char*>(bytes + 8), static_cast<size_t>(n));
  json::Json header;
  try {
    header = json::Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    bad(path, fmt::format("header is not valid JSON (byte {})", e.byte));
  } catch (const nlohmann::json::exception& e) {  // e.g. 1e999: out_of_range (found by fuzzing)
    bad(path, fmt::format("header is not valid JSON ({})", e.what()));
  }
  if (!header.is_object()) bad(path, "header is not a JSON object");
  f->data_start_ = 8 + static_cast<size_t>(n);
  const size_t data_size = size - f->data_start_;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) bad(path, "__metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) bad(path, fmt::format("__metadata__ value '{}' is not a string", m.key()));
        f->metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    f->tensors_.push_back(parse_entry(path, it.key(), *it));
  }
  // Ranges: inside the data section, no overlap, no holes (the format's own rule).
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : f->tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](auto a, auto b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  size_t cursor = 0;
  for (const auto* t : by_offset) {
    if (t->end > data_size)
      bad(path, fmt::format("tensor '{}': bytes [{}, {}) lie outside the {}-byte data section (file truncated?)",
                            t->name, t->begin, t->end, data_size));
    if (t->begin < cursor)
      bad(path, fmt::format("tensor '{}': bytes [{}, {}) overlap another tensor", t->name, t->begin, t->end));
    if (t->begin > cursor)
      bad(path, fmt::format("data section has a hole at bytes [{}, {}) before tensor '{}'", cursor, t->begin, t->name));
    cursor = t->end;
  }
  if (cursor != data_size)
    bad(path, fmt::format("data section has {} trailing bytes not covered by any tensor", data_size - cursor));
  std::sort(f->tensors_.begin(), f->tensors_.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  return f;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorInfo& t, const std::string& n) { return t.name < n; });
  if (it == tensors_.end() || it->name != name) return nullptr;
  return &*it;
}

Tensor SafetensorsFile::get(const std::string& name) const {
  const TensorInfo* info = find(name);
  MVL_CHECK(info != nullptr, not_found, "'{}': no tensor named '{}'", path_, name);
  const size_t offset = data_start_ + info->begin;
  Tensor view(map_, offset, info->shape, contiguous_strides(info->shape), info->dtype);
  if (offset % dtype_size(info->dtype) == 0) return view;
  Tensor copy = Tensor::empty(info->shape, info->dtype);
  // A zero-size tensor has no buffer: memcpy(nullptr, ..., 0) is still UB (UBSan flags it).
  if (view.nbytes() > 0) std::memcpy(copy.data(), view.data(), view.nbytes());
  return copy;
}

Checkpoint Checkpoint::open(const std::string& path) {
  Checkpoint ck;
  std::error_code ec;
  MVL_CHECK(fs::exists(path, ec), not_found, "checkpoint '{}' does not exist", path);
  auto add_file = [&ck](const std::string& file) {
    auto f = SafetensorsFile::open(file);
    for (const auto& t : f->tensors()) {
      auto [it, inserted] = ck.where_.emplace(t.name, ck.files_.size());
      MVL_CHECK(inserted, bad_format, "tensor '{}' appears in both '{}' and '{}'", t.name,
                ck.files_[it->second]->path(), file);
    }
    ck.files_.push_back(std::move(f));
  };
  auto open_index = [&](const std::string& index_path) {
    const auto dir = fs::path(index_path).parent_path();
    const json::Json idx = json::parse_file(index_path);
    const std::string what = "'" + index_path + "'";
    const json::Json& map = json::get_object(idx, "weight_map", what);
    std::map<std::string, std::vector<std::string>> by_file;
    for (auto it = map.begin(); it != map.end(); ++it) {
      MVL_CHECK(it->is_string(), bad_format, "{}: weight_map['{}'] is not a string", what, it.key());
      by_file[it->get<std::string>()].push_back(it.key());
    }
    for (const auto& [file, names] : by_file) {
      MVL_CHECK(file.find('/') == std::string::npos && file != ".." && !file.empty(), bad_format,
                "{}: shard name '{}' must be a plain file name", what, file);
      const std::string shard = (dir / file).string();
      MVL_CHECK(fs::exists(shard, ec), not_found, "{}: shard '{}' listed for tensor '{}' does not exist",
                what, file, names.front());
      add_file(shard);
      for (const auto& n : names) {
        MVL_CHECK(ck.files_.back()->find(n) != nullptr, bad_format,
                  "{}: tensor '{}' is mapped to '{}' but that shard does not contain it", what, n, file);
      }
    }
    // Tensors in shards but not in the index would be silently invisible to other tools.
    for (const auto& [name, idx_file] : ck.where_) {
      MVL_CHECK(map.contains(name), bad_format, "{}: shard '{}' holds tensor '{}' that the index does not list",
                what, ck.files_[idx_file]->path(), name);
    }
  };
  if (fs::is_directory(path, ec)) {
    const auto dir = fs::path(path);
    if (fs::exists(dir / "model.safetensors.index.json", ec)) {
      open_index((dir / "model.safetensors.index.json").string());
    } else if (fs::exists(dir / "model.safetensors", ec)) {
      add_file((dir / "model.safetensors").string());
    } else {
      std::vector<std::string> files;
      for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
      std::sort(files.begin(), files.end());
      MVL_CHECK(!files.empty(), not_found, "'{}' holds no model.safetensors.index.json and no .safetensors files",
                path);
      for (const auto& f : files) add_file(f);
    }
  } else if (fs::path(path).extension() == ".json") {
    open_index(path);
  } else {
    add_file(path);
  }
  return ck;
}

const TensorInfo& Checkpoint::info(const std::string& name) const {
  auto it = where_.find(name);
  MVL_CHECK(it != where_.end(), not_found, "checkpoint has no tensor named '{}'", name);
  return *files_[it->second]->find(name);
}

Tensor Checkpoint::get(const std::string& name) const {
  auto it = where_.find(name);
  MVL_CHECK(it != where_.end(), not_found, "checkpoint has no tensor named '{}'", name);
  Tensor t = files_[it->second]->get(name);
  if (observer_ && *observer_) (*observer_)(*files_[it->second]->find(name));
  return t;
}

size_t Checkpoint::total_bytes() const {
  size_t n = 0;
  for (const auto& [name, file] : where_) {
    const TensorInfo* t = files_[file]->find(name);
    n += t->end - t->begin;
  }
  return n;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> r;
  r.reserve(where_.size());
  for (const auto& [n, _] : where_) r.push_back(n);
  return r;
}

void SafetensorsWriter::add(const std::string& name, const Tensor& t) {
  MVL_CHECK(!name.empty() && name != "__metadata__", invalid_argument, "invalid tensor name '{}'", name);
  Entry e{t.dtype(), t.shape(), std::vector<char>(t.nbytes())};
  copy_to_contiguous(t, e.bytes.data());
  entries_[name] = std::move(e);
}

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) {
  metadata_[key] = value;
}

void SafetensorsWriter::write(const std::string& path) const {
  json::Json header = json::Json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  size_t offset = 0;
  for (const auto& [name, e] : entries_) {
    header[name] = {{"dtype", dtype_safetensors_name(e.dtype)},
                    {"shape", e.shape},
                    {"data_offsets", {offset, offset + e.bytes.size()}}};
    offset += e.bytes.size();
  }
  std::string text = header.dump();
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');  // align the data section
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    MVL_CHECK(static_cast<bool>(out), io, "cannot write '{}'", tmp);
    unsigned char len[8];
    uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, e] : entries_) out.write(e.bytes.data(), static_cast<std::streamsize>(e.bytes.size()));
    MVL_CHECK(static_cast<bool>(out), io, "short write to '{}'", tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  MVL_CHECK(!ec, io, "cannot rename '{}' to '{}': {}", tmp, path, ec.message());
}

void write_safetensors_index(const std::string& path,
                             const std::map<std::string, std::string>& weight_map,
                             size_t total_size) {
  json::Json j;
  j["metadata"] = {{"total_size", total_size}};
  j["weight_map"] = weight_map;
  std::ofstream out(path);
  MVL_CHECK(static_cast<bool>(out), io, "cannot write '{}'", path);
  out << j.dump(2) << "\n";
}

}  // namespace mvl
