// Defensive file opening (issue 14): FIFOs and devices are refused at once instead of hanging
// or reading forever, symlinks to regular files still work, size caps hold before a read, and
// a piped stream stops at its cap. Every refusal is one Error naming the path.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "kernels/core/error.h"
#include "kernels/core/file_io.h"
#include "kernels/core/json.h"
#include "kernels/core/storage.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(FileIo, FifoIsRefusedWithoutBlocking) {
  const std::string dir = test::temp_dir("fifo");
  const std::string fifo = dir + "/config.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Before the fix these opened the FIFO and waited for a writer forever.
  const std::string e1 = error_of([&] { json::parse_file(fifo); });
  EXPECT_NE(e1.find("is a FIFO"), std::string::npos) << e1;
  EXPECT_NE(e1.find(fifo), std::string::npos) << e1;
  const std::string e2 = error_of([&] { MmapStorage m(fifo); });
  EXPECT_NE(e2.find("is a FIFO"), std::string::npos) << e2;
}

TEST(FileIo, DevicesAreRefused) {
  const std::string dir = test::temp_dir("dev");
  const std::string link = dir + "/tokenizer.json";
  fs::create_symlink("/dev/zero", link);
  // Before the fix: 12 GB read from /dev/zero before anything stopped it.
  const std::string e = error_of([&] { read_regular_file(link, kMaxTokenizerFileBytes); });
  EXPECT_NE(e.find("character device"), std::string::npos) << e;
  const std::string e2 = error_of([&] { MmapStorage m("/dev/zero"); });
  EXPECT_NE(e2.find("character device"), std::string::npos) << e2;
}

TEST(FileIo, SymlinkToRegularFileIsRead) {
  const std::string dir = test::temp_dir("link");
  test::write_text(dir + "/blob", "{\"a\": 1}");
  fs::create_symlink(dir + "/blob", dir + "/config.json");
  EXPECT_EQ(json::parse_file(dir + "/config.json")["a"], 1);
}

TEST(FileIo, SizeCapIsCheckedBeforeReading) {
  const std::string dir = test::temp_dir("cap");
  test::write_text(dir + "/big.json", std::string(5000, ' ') + "{}");
  const std::string e = error_of([&] { read_regular_file(dir + "/big.json", 4096); });
  EXPECT_NE(e.find("larger than"), std::string::npos) << e;
  EXPECT_EQ(read_regular_file(dir + "/big.json", 8192).size(), 5002u);
}

TEST(FileIo, MissingFileIsNotFound) {
  try {
    read_regular_file("/nonexistent/x.json", 10);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::not_found);
  }
}

TEST(FileIo, StreamStopsAtItsCap) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string chunk(1000, 'y');
  ASSERT_EQ(::write(fds[1], chunk.data(), chunk.size()), 1000);
  ::close(fds[1]);
  const std::string e = error_of([&] { read_stream(fds[0], 999, "stdin"); });
  EXPECT_NE(e.find("stdin is longer than"), std::string::npos) << e;
  ::close(fds[0]);
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], chunk.data(), chunk.size()), 1000);
  ::close(fds[1]);
  EXPECT_EQ(read_stream(fds[0], 1000, "stdin"), chunk);
  ::close(fds[0]);
}

}  // namespace
}  // namespace mvl
