// The SIGBUS guard for mapped checkpoint files (see mapped_files.h).
#include "kernels/core/mapped_files.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "kernels/core/error.h"

namespace mvl {

namespace {

constexpr int kSlots = 4096;
constexpr size_t kPathBytes = 512;

struct Slot {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};  // 0 = free
  char path[kPathBytes] = {};
  // The file's identity when mapped (written before `end` is published).
  uint64_t dev = 0, ino = 0, size = 0;
  int64_t mtime_ns = 0;
};

Slot g_slots[kSlots];
std::atomic<int> g_faulted_slot{-1};
char g_faulted_path[kPathBytes] = {};
std::mutex g_register_mutex;
struct sigaction g_previous {};
std::once_flag g_install_once;

void chain_to_previous(int sig, siginfo_t* info, void* ctx) {
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) {
      g_previous.sa_sigaction(sig, info, ctx);
      return;
    }
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN &&
             g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
    return;
  }
  // Default action: restore it and return; the faulting instruction re-raises SIGBUS.
  signal(SIGBUS, SIG_DFL);
}

void on_sigbus(int sig, siginfo_t* info, void* ctx) {
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (int i = 0; i < kSlots; ++i) {
    const uintptr_t end = g_slots[i].end.load(std::memory_order_acquire);
    if (end == 0) continue;
    const uintptr_t begin = g_slots[i].begin.load(std::memory_order_acquire);
    if (addr < begin || addr >= end) continue;
    // Put a zero page where the file has none any more; the read then completes.
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    void* at = reinterpret_cast<void*>(addr & ~(page - 1));
    if (::mmap(at, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
      break;  // cannot repair: fall through to the default action
    int expected = -1;
    if (g_faulted_slot.compare_exchange_strong(expected, i))
      std::memcpy(g_faulted_path, g_slots[i].path, kPathBytes);
    return;
  }
  chain_to_previous(sig, info, ctx);
}

void install_handler() {
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, &g_previous);
}

}  // namespace

void register_mapped_file(const void* addr, size_t size, const std::string& path, int fd) {
  if (addr == nullptr || size == 0) return;
  std::call_once(g_install_once, install_handler);
  std::lock_guard<std::mutex> lock(g_register_mutex);
  for (int i = 0; i < kSlots; ++i) {
    Slot& s = g_slots[i];
    if (s.end.load(std::memory_order_relaxed) != 0) continue;
    const size_t n = std::min(path.size(), kPathBytes - 1);
    std::memcpy(s.path, path.data(), n);
    s.path[n] = '\0';
    struct stat st {};
    if (fd >= 0 && ::fstat(fd, &st) == 0) {
      s.dev = st.st_dev;
      s.ino = st.st_ino;
      s.size = static_cast<uint64_t>(st.st_size);
      s.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    }
    s.begin.store(reinterpret_cast<uintptr_t>(addr), std::memory_order_release);
    s.end.store(reinterpret_cast<uintptr_t>(addr) + size, std::memory_order_release);
    return;
  }
}

void unregister_mapped_file(const void* addr) {
  const auto a = reinterpret_cast<uintptr_t>(addr);
  std::lock_guard<std::mutex> lock(g_register_mutex);
  for (Slot& s : g_slots) {
    if (s.end.load(std::memory_order_relaxed) == 0 || s.begin.load(std::memory_order_relaxed) != a)
      continue;
    s.end.store(0, std::memory_order_release);
    s.begin.store(0, std::memory_order_release);
    s.ino = 0;
    return;
  }
}

bool mapped_file_faulted() {
  return g_faulted_slot.load(std::memory_order_acquire) >= 0;
}

namespace {
[[noreturn]] void changed(const std::string& path) {
  throw_error(
      ErrorCategory::io,
      fmt::format("'{}' was truncated or rewritten while the model was loaded, so its "
                  "weights can no longer be trusted; reload the model (restart the command)",
                  path));
}
}  // namespace

void check_mapped_files(bool stat_files) {
  if (mapped_file_faulted()) changed(g_faulted_path);
  if (!stat_files) return;
  std::lock_guard<std::mutex> lock(g_register_mutex);
  for (const Slot& s : g_slots) {
    if (s.end.load(std::memory_order_relaxed) == 0 || s.ino == 0) continue;
    struct stat st {};
    // A file deleted or replaced by a new inode (a fresh download, a moved symlink) leaves our
    // mapping on the old, intact data: only the same inode changing in place is a problem.
    if (::stat(s.path, &st) != 0 || st.st_dev != s.dev || st.st_ino != s.ino) continue;
    const int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    if (static_cast<uint64_t>(st.st_size) != s.size || mtime != s.mtime_ns) changed(s.path);
  }
}

}  // namespace mvl
