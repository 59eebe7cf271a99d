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
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  MVL_CHECK(fd >= 0, io, "cannot open '{}': {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw_error(ErrorCategory::io, fmt::format("cannot stat '{}': {}", path, std::strerror(e)));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw_error(ErrorCategory::io, fmt::format("'{}' is a directory, not a file", path));
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    ptr_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (ptr_ == MAP_FAILED) {
      const int e = errno;
      ptr_ = nullptr;
      ::close(fd);
      throw_error(ErrorCategory::io, fmt::format("cannot mmap '{}': {}", path, std::strerror(e)));
    }
  }
  ::close(fd);
}

MmapStorage::~MmapStorage() {
  if (ptr_ != nullptr) ::munmap(ptr_, size_);
}

std::shared_ptr<Storage> make_heap_storage(size_t bytes) {
  return std::make_shared<HeapStorage>(bytes);
}

}  // namespace mvl
