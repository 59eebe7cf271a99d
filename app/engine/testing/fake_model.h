// A fake model for engine tests (and anyone who needs an Engine without weights): a
// byte-level codec with a MiniMax-shaped template, a "language model" whose logits are a
// hash of everything fed so far (so prefill(A+B) == prefill(A);prefill(B) holds exactly
// and any change to the fed history changes the answer), and a vision encoder that reads
// "FAKEIMG <w> <h>" text files. Knobs inject delays and failures.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "app/engine/core/model_api.h"

namespace mvl::engine::testing {

struct FakeOptions {
  int64_t hidden = 8;
  int64_t max_context = 4096;
  int decode_delay_ms = 0;        // per decode step (to cancel mid-stream)
  int prefill_delay_ms = 0;       // per prefill call
  int encode_delay_ms = 0;        // per fake ViT tile
  int64_t eos_after = -1;         // force EOS as the k-th token after a prefill (-1: never)
  int64_t fail_at_decode = -1;    // throw Error on this decode step after a prefill
  bool asynchronous = false;      // report decode() as queued work, as a GPU model does, so the
                                  // decode loop runs ahead (its CPU test)
};

// Counters the tests read (atomics: written on the worker thread).
struct FakeStats {
  std::atomic<int64_t> prefill_calls{0};
  std::atomic<int64_t> prefilled_positions{0};
  std::atomic<int64_t> decode_calls{0};
  std::atomic<int64_t> images_encoded{0};
};

// Special ids of the fake codec: bytes are ids 0..255.
inline constexpr int32_t kFakeBos = 256, kFakeEos = 257, kFakeImage = 258, kFakeVocab = 260;

LoadedModel make_fake_model(const FakeOptions& opts, std::shared_ptr<FakeStats> stats);

// Writes a fake image file understood by the fake vision encoder.
void write_fake_image(const std::string& path, int64_t width, int64_t height);

}  // namespace mvl::engine::testing
