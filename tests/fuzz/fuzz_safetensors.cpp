// Fuzzes the safetensors reader: the 8-byte length + JSON header + data ranges of one file
// (first input byte even), and a model.safetensors.index.json over a fixed valid shard (odd).
// Every tensor the reader accepts is read end to end, so a range it let through that lies
// outside the mapping shows up under ASan.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "kernels/core/error.h"
#include "kernels/core/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace mvl;

unsigned touch(const Tensor& t) {
  unsigned sum = 0;
  const auto* p = static_cast<const unsigned char*>(t.data());
  for (size_t i = 0; i < t.nbytes(); ++i) sum += p[i];
  return sum;
}

const std::string& index_dir() {
  static const std::string dir = [] {
    const std::string d = fuzz::scratch_dir() + "/index";
    std::filesystem::create_directories(d);
    SafetensorsWriter w;
    Tensor a = Tensor::empty({2, 3}, DType::f32);
    Tensor b = Tensor::empty({4}, DType::bf16);
    w.add("a", a);
    w.add("b", b);
    w.write(d + "/model-00001-of-00001.safetensors");
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  volatile unsigned sink = 0;
  if ((data[0] & 1) == 0) {
    const std::string path = fuzz::write_scratch("x.safetensors", data + 1, size - 1);
    MVL_FUZZ_EXPECT_ERRORS_ONLY({
      auto f = SafetensorsFile::open(path);
      for (const auto& t : f->tensors()) sink = sink + touch(f->get(t.name));
    });
  } else {
    const std::string dir = index_dir();
    fuzz::write_scratch("index/model.safetensors.index.json", data + 1, size - 1);
    MVL_FUZZ_EXPECT_ERRORS_ONLY({
      Checkpoint ck = Checkpoint::open(dir);
      for (const auto& n : ck.names()) sink = sink + touch(ck.get(n));
    });
  }
  return 0;
}
