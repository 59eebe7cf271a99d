// Fuzzes tokenizer.json loading (BPE vocab and merges, added tokens, normalizer,
// pre-tokenizer, decoder), then encodes and decodes a short fixed text and every id with
// whatever tokenizer was accepted. The input is the tokenizer.json text.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "kernels/core/error.h"
#include "llm/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

using namespace mvl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  MVL_FUZZ_EXPECT_ERRORS_ONLY({
    // A small cap keeps each run's dense id table small; the cap itself is what is tested.
    const llm::Tokenizer tok = llm::Tokenizer::from_json_text(text, "tokenizer.json", 1 << 16);
    if (tok.vocab_size() > (1 << 16)) std::abort();
    for (const char* s :
         {"Hello, world! 123", "  tabs\tand\nnewlines ", "\xc3\xa9\xe4\xb8\xad <image>"}) {
      try {
        const auto ids = tok.encode(s, true);
        (void)tok.decode(ids, false);
        (void)tok.encode(s, false);
      } catch (const Error&) {
      }
    }
    const int64_t n = std::min<int64_t>(tok.vocab_size(), 4096);
    for (int32_t id = 0; id < n; ++id) {
      if (!tok.has_id(id)) continue;
      (void)tok.id_to_token(id);
      const int32_t one[1] = {id};
      try {
        (void)tok.decode(one, true);
      } catch (const Error&) {
      }
    }
  });
  return 0;
}
