// Heap and mmap storage.
#include "kernels/core/storage.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "kernels/core/error.h"
#include "kernels/core/file_io.h"
#include "kernels/core/mapped_files.h"

namespace mvl {

HeapStorage::HeapStorage(size_t bytes) : size_(bytes) {
  const size_t rounded = ((bytes + 63) / 64) * 64;
  if (rounded == 0) return;
  ptr_ = std::aligned_alloc(64, rounded);
  MVL_CHECK(ptr_ != nullptr, out_of_memory, "cannot allocate {} bytes of host memory", bytes);
  std::memset(ptr_, 0, rounded);
}

HeapStorage::~HeapStorage() { std::free(ptr_); }

MmapStorage::MmapStorage(const std::string& path) : path_(path) {
  // Regular files only: a FIFO would block the open, a device would map garbage or nothing.
  const int fd = open_regular_file(path, &size_);
  if (size_ > 0) {
    ptr_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (ptr_ == MAP_FAILED) {
      const int e = errno;
      ptr_ = nullptr;
      ::close(fd);
      throw_error(ErrorCategory::io, fmt::format("cannot mmap '{}': {}", path, std::strerror(e)));
    }
    register_mapped_file(ptr_, size_, path, fd);  // the SIGBUS guard (mapped_files.h)
  }
  ::close(fd);
}

MmapStorage::~MmapStorage() {
  if (ptr_ != nullptr) unregister_mapped_file(ptr_);
  if (ptr_ != nullptr) ::munmap(ptr_, size_);
}

std::shared_ptr<Storage> make_heap_storage(size_t bytes) {
  return std::make_shared<HeapStorage>(bytes);
}

}  // namespace mvl
