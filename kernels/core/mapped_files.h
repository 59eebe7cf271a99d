// Surviving a checkpoint shard that is truncated or rewritten while it is mapped.
// Reading a page of a MAP_PRIVATE mapping beyond the file's new end raises SIGBUS, which
// would kill the process with no message. Every MmapStorage registers its range here; a
// SIGBUS handler that finds the faulting address inside a registered range maps a zero
// page over it (so the read completes), records which file it was, and returns. Callers
// (the engine, after each step) then call `check_mapped_files()`, which throws one Error
// naming the file. Faults outside our ranges go to the previous handler / default action.
// The registry is a fixed table of atomics: the one process-wide state besides the log
// sink, because a signal handler can reach nothing else.
#pragma once

#include <cstddef>
#include <string>

namespace mvl {

// Registers [addr, addr+size) as a mapping of `path` (open as `fd`, whose identity, size and
// mtime are remembered).
// Installs the SIGBUS handler on first use. When the table is full the range is not guarded
// (a fault in it keeps the default SIGBUS behaviour).
void register_mapped_file(const void* addr, size_t size, const std::string& path, int fd);
void unregister_mapped_file(const void* addr);  // before munmap

// Throws Error{io} naming the first file whose mapping faulted since the process started
// ("'m/model.safetensors' was truncated or rewritten while the model was loaded ...").
// With `stat_files`, also stats every mapped path (a few microseconds each; once per request)
// and throws if one was changed in place (same inode, new size or mtime) without a fault yet.
void check_mapped_files(bool stat_files = false);
// True once any registered mapping faulted.
bool mapped_file_faulted();

}  // namespace mvl
