// Owned byte buffers behind tensors: heap (aligned), read-only file mmap, and an
// abstract hook for device memory (the CUDA implementation lives in kernels/cuda so
// no CUDA header leaks into core).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "kernels/core/device.h"

namespace mvl {

class Storage {
 public:
  virtual ~Storage() = default;
  virtual void* data() = 0;
  virtual size_t size() const = 0;
  virtual Device device() const = 0;
  virtual bool writable() const { return true; }
};

// 64-byte aligned host allocation, zero-initialised.
class HeapStorage final : public Storage {
 public:
  explicit HeapStorage(size_t bytes);
  ~HeapStorage() override;
  HeapStorage(const HeapStorage&) = delete;
  HeapStorage& operator=(const HeapStorage&) = delete;
  void* data() override { return ptr_; }
  size_t size() const override { return size_; }
  Device device() const override { return Device::cpu(); }

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

// A whole file mapped read-only (MAP_PRIVATE). Throws Error{io} naming the path.
class MmapStorage final : public Storage {
 public:
  explicit MmapStorage(const std::string& path);
  ~MmapStorage() override;
  MmapStorage(const MmapStorage&) = delete;
  MmapStorage& operator=(const MmapStorage&) = delete;
  void* data() override { return ptr_; }
  size_t size() const override { return size_; }
  Device device() const override { return Device::cpu(); }
  bool writable() const override { return false; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

std::shared_ptr<Storage> make_heap_storage(size_t bytes);

}  // namespace mvl
