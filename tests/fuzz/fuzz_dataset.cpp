// Fuzzes the eval dataset readers: JSONL, JSON (DocVQA RRC or a list) and VLMEvalKit TSV
// (with base64 images written to a cache dir), for both tasks. The first input byte picks
// the format and the task; the rest is the file.
#include <cstdio>
#include <cstdlib>

#include "app/eval/dataset.h"
#include "kernels/core/error.h"
#include "tests/fuzz/fuzz_util.h"

using namespace mvl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* const kExt[] = {"jsonl", "json", "tsv"};
  const char* ext = kExt[(data[0] & 0x7f) % 3];
  const eval::Task task = (data[0] & 0x80) ? eval::Task::ai2d : eval::Task::docvqa;
  const std::string path = fuzz::write_scratch(std::string("data.") + ext, data + 1, size - 1);
  eval::LoadOptions opts;
  opts.image_cache_dir = fuzz::scratch_dir() + "/images";
  MVL_FUZZ_EXPECT_ERRORS_ONLY({
    const eval::Dataset d = eval::load_dataset(task, path, opts);
    for (const auto& it : d.items)
      if (it.images.empty() || it.id.empty()) std::abort();
  });
  fuzz::clear_scratch("images");
  return 0;
}
