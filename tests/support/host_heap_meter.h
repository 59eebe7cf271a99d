// HostHeapMeter: measures the host tensor memory a test process holds, and its peak, by
// interposing aligned_alloc (what HeapStorage, kernels/core/storage.cpp, allocates every host
// tensor with) and free. Other allocations (std::vector, strings) are not counted.
//   #include "tests/support/host_heap_meter.h"   // in ONE source file of a test executable
//   test::HostHeapMeter::reset_peak();
//   ... load ...
//   EXPECT_LE(test::HostHeapMeter::peak() - before, bound);
// The interposers replace glibc's for the whole executable, so this header must not be
// compiled into a library, and the meter refuses to run under ASan (whose allocator owns
// free): HostHeapMeter::usable() says whether the numbers mean anything.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" void* __libc_memalign(size_t alignment, size_t size);
extern "C" void __libc_free(void* p);

namespace mvl::test {

// A fixed open-addressing table of the live aligned_alloc blocks (pointer -> size), under a
// spinlock: allocation-free, so free() can consult it from anywhere.
class HostHeapMeter {
 public:
  static bool usable() {
#if defined(__SANITIZE_ADDRESS__)
    return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return false;
#else
    return !state().overflow;
#endif
#else
    return !state().overflow;
#endif
  }
  static uint64_t live() { return locked([](State& s) { return s.live; }); }
  static uint64_t peak() { return locked([](State& s) { return s.peak; }); }
  // Starts a new peak from what is alive now.
  static void reset_peak() {
    locked([](State& s) {
      s.peak = s.live;
      return 0;
    });
  }

  // The interposers' side.
  static void add(void* p, size_t n) {
    locked([&](State& s) {
      size_t i = slot(p);
      for (size_t probes = 0; probes < kSlots; ++probes, i = (i + 1) % kSlots) {
        if (s.keys[i] == nullptr || s.keys[i] == tombstone()) {
          s.keys[i] = p;
          s.sizes[i] = n;
          s.live += n;
          if (s.live > s.peak) s.peak = s.live;
          return 0;
        }
      }
      s.overflow = true;
      return 0;
    });
  }
  static void remove(void* p) {
    locked([&](State& s) {
      size_t i = slot(p);
      for (size_t probes = 0; probes < kSlots && s.keys[i] != nullptr; ++probes, i = (i + 1) % kSlots) {
        if (s.keys[i] == p) {
          s.keys[i] = tombstone();
          s.live -= s.sizes[i];
          return 0;
        }
      }
      return 0;
    });
  }

 private:
  static constexpr size_t kSlots = size_t{1} << 18;
  struct State {
    std::atomic_flag lock;
    void* keys[kSlots];
    size_t sizes[kSlots];
    uint64_t live, peak;
    bool overflow;
  };
  static State& state() {
    static constinit State s{};
    return s;
  }
  static void* tombstone() { return reinterpret_cast<void*>(uintptr_t{1}); }
  static size_t slot(void* p) { return (reinterpret_cast<uintptr_t>(p) >> 6) * 0x9E3779B97F4A7C15ull % kSlots; }
  template <typename F>
  static uint64_t locked(F&& f) {
    State& s = state();
    while (s.lock.test_and_set(std::memory_order_acquire)) {
    }
    const uint64_t r = static_cast<uint64_t>(f(s));
    s.lock.clear(std::memory_order_release);
    return r;
  }
};

}  // namespace mvl::test

extern "C" void* aligned_alloc(size_t alignment, size_t size) noexcept {
  void* p = __libc_memalign(alignment, size);
  if (p != nullptr) mvl::test::HostHeapMeter::add(p, size);
  return p;
}

extern "C" void free(void* p) noexcept {
  if (p == nullptr) return;
  mvl::test::HostHeapMeter::remove(p);
  __libc_free(p);
}
