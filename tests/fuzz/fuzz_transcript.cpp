// Fuzzes saved-chat loading (chat /load, the desktop history): the transcript JSON with
// its roles, content parts and assistant token ids, then writes back what was accepted.
// The input is the file content.
#include <cstdio>
#include <cstdlib>

#include "app/engine/core/transcript.h"
#include "kernels/core/error.h"
#include "tests/fuzz/fuzz_util.h"

using namespace mvl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_scratch("chat.json", data, size);
  MVL_FUZZ_EXPECT_ERRORS_ONLY({
    const auto messages = engine::load_transcript(path);
    const json::Json back = engine::transcript_to_json(messages);
    const auto again = engine::transcript_from_json(back, "round trip");
    if (again.size() != messages.size()) std::abort();
  });
  return 0;
}
