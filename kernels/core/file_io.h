// Opening input files defensively: regular files only (a FIFO would block, a device such as
// /dev/zero would never end), with a size cap checked before anything is read. Symlinks are
// followed (Hugging Face caches link every file to a blob); what they point at must be regular.
// Every loader of a user-supplied file (config, tokenizer, chats, datasets, shards) uses these.
#pragma once

#include <cstddef>
#include <string>

namespace mvl {

// Caps for the files we read whole. The released MiniMax-VL-01 tokenizer.json is ~10 MB.
inline constexpr size_t kMaxConfigFileBytes = 16ull << 20;      // config.json & friends
inline constexpr size_t kMaxTokenizerFileBytes = 256ull << 20;  // tokenizer.json
inline constexpr size_t kMaxChatFileBytes = 64ull << 20;        // saved chats
inline constexpr size_t kMaxDatasetFileBytes = 8ull << 30;      // eval datasets (TSVs embed images)
inline constexpr size_t kMaxStdinBytes = 64ull << 20;           // a prompt or ids piped on stdin

// Opens `path` read-only without blocking, refuses anything but a regular file, and returns
// the descriptor (blocking again) with its size. Throws Error{not_found|io} naming the path.
int open_regular_file(const std::string& path, size_t* size_out);

// Reads the whole regular file; throws Error{out_of_memory} naming the path and the cap when
// it is (or grows while being read) larger than `max_bytes`.
std::string read_regular_file(const std::string& path, size_t max_bytes);

// Reads `fd` (stdin, a pipe) to its end, at most `max_bytes`; throws Error{invalid_argument}
// naming `what` beyond that, so `yes | minimax-vl ask` stops instead of exhausting memory.
std::string read_stream(int fd, size_t max_bytes, const std::string& what);

// Replaces `path` with `text` atomically: a temporary file beside it (mode `mode`, fsync'd
// when `durable`), then rename, so a reader sees the old file or the new one, never half of
// one. Callers that must not write through a symlink or into a device check the path first.
// Throws Error{io} naming the path; the temporary file is removed on failure.
void write_file_atomically(const std::string& path, const std::string& text, unsigned mode,
                           bool durable);

}  // namespace mvl
