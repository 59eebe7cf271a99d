// The SIGBUS guard (issue 14): a mapped shard truncated under a running process must give one
// Error naming the file instead of killing the process with a bare SIGBUS, and a shard
// rewritten in place (same inode, new size/mtime) is reported before the next request.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "kernels/core/error.h"
#include "kernels/core/mapped_files.h"
#include "kernels/core/storage.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

namespace fs = std::filesystem;

// The fault flag is process-wide and sticky, so the truncation runs in a child process.
TEST(MappedFiles, TruncatedFileGivesOneErrorNamingIt) {
  const std::string dir = test::temp_dir("sigbus");
  const std::string path = dir + "/model.safetensors";
  test::write_text(path, std::string(1 << 20, 'x'));
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 0;
    {
      MmapStorage m(path);
      const volatile char* p = static_cast<const char*>(m.data());
      if (p[0] != 'x') code = 10;
      fs::resize_file(path, 0);            // what `truncate -s 0` or `cp` over the file does
      const char late = p[(1 << 20) - 1];  // SIGBUS without the guard
      if (late != 0) code = 11;
      try {
        check_mapped_files();
        code = 12;
      } catch (const Error& e) {
        const std::string what = e.what();
        if (what.find(path) == std::string::npos || what.find("truncated") == std::string::npos)
          code = 13;
        if (what.find('\n') != std::string::npos) code = 14;
      }
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(MappedFiles, InPlaceRewriteIsSeenByStat) {
  const std::string dir = test::temp_dir("rewrite");
  const std::string path = dir + "/model.safetensors";
  test::write_text(path, std::string(4096, 'a'));
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 0;
    {
      MmapStorage m(path);
      try {
        check_mapped_files(true);
      } catch (const Error&) {
        code = 20;  // nothing changed yet
      }
      // The same inode grown in place is reported.
      {
        FILE* f = std::fopen(path.c_str(), "ab");
        std::fputs("more", f);
        std::fclose(f);
      }
      try {
        check_mapped_files(true);
        code = 22;
      } catch (const Error& e) {
        if (std::string(e.what()).find(path) == std::string::npos) code = 23;
      }
      // A new inode at the path (a fresh download renamed over it) leaves our mapping on the
      // old, intact data: no error.
      test::write_text(dir + "/new", std::string(100, 'b'));
      fs::rename(dir + "/new", path);
      try {
        check_mapped_files(true);
      } catch (const Error&) {
        code = 21;
      }
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace mvl
