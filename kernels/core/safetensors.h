// Strict, mmap-backed safetensors reading (single files and sharded checkpoints with
// model.safetensors.index.json) and a small writer for tests and tools.
// Every validation failure throws Error{bad_format} with one line naming the file and
// the problem; tensors are handed out as zero-copy views into the mapping.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/core/storage.h"
#include "kernels/core/tensor.h"

namespace mvl {

inline constexpr size_t kSafetensorsMaxHeader = 100u * 1000u * 1000u;  // 100 MB cap

struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  size_t begin = 0;  // byte range inside the data section (after the header)
  size_t end = 0;
};

class SafetensorsFile {
 public:
  // Maps and validates the whole header. Throws Error naming `path`.
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // sorted by name
  const TensorInfo* find(const std::string& name) const;
  // A view of the named tensor (copied to aligned heap memory only if the file
  // places it misaligned for its dtype). Throws Error{not_found}.
  Tensor get(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::string path_;
  std::shared_ptr<MmapStorage> map_;
  size_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A set of tensors spread over one or more safetensors files.
class Checkpoint {
 public:
  // `path` may be a .safetensors file, an index .json, or a directory holding
  // model.safetensors.index.json, model.safetensors, or some *.safetensors files.
  static Checkpoint open(const std::string& path);

  bool has(const std::string& name) const { return where_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const;
  Tensor get(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  size_t num_tensors() const { return where_.size(); }
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
  // Bytes of every tensor's data (the sum of their byte ranges).
  size_t total_bytes() const;

  // Called by get() with the tensor handed out, on the calling thread (loaders may call get()
  // from several threads and for the same name more than once). Copies of this Checkpoint
  // share it. The engine counts load progress with it.
  using GetObserver = std::function<void(const TensorInfo&)>;
  void set_get_observer(GetObserver f) { observer_ = std::make_shared<GetObserver>(std::move(f)); }

 private:
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index into files_
  std::shared_ptr<GetObserver> observer_;
};

// Collects tensors (copied at add time) and writes one file. Host tensors only.
class SafetensorsWriter {
 public:
  void add(const std::string& name, const Tensor& t);
  void set_metadata(const std::string& key, const std::string& value);
  // Writes atomically (temp file + rename). Throws Error{io}.
  void write(const std::string& path) const;
  size_t num_tensors() const { return entries_.size(); }

 private:
  struct Entry {
    DType dtype;
    Shape shape;
    std::vector<char> bytes;
  };
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes a model.safetensors.index.json mapping tensor names to shard file names.
void write_safetensors_index(const std::string& path,
                             const std::map<std::string, std::string>& weight_map,
                             size_t total_size);

}  // namespace mvl
