// The small option structs the front ends fill (design: no god struct): how to open a
// model (EngineOptions), how to sample (SamplingOptions) and when to stop
// (GenerateOptions). Defaults follow the official MiniMax-VL-01 examples: greedy decoding.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernels/ops/precision.h"
#include "llm/weights/quant_rule.h"
#include "vision/preprocess/pillow_resample.h"

namespace mvl::engine {

// Where the model runs. CPU is the reference backend; CUDA is added by the GPU backend.
enum class Backend { cpu, cuda };
const char* backend_name(Backend b);

struct EngineOptions {
  std::string model_dir;          // a checkpoint dir: config.json, tokenizer.json, *.safetensors
  Backend backend = Backend::cpu;
  int device = 0;                 // CUDA device ordinal (ignored on CPU)
  // Activation precision of both halves (kernels/ops/precision.h): bf16 = the fast path (HF
  // transformers bf16 semantics, CUDA only), f32 = op-for-op CPU parity. Unset: bf16 on
  // CUDA, f32 on the CPU; bf16 on the CPU is refused at load.
  std::optional<ops::Precision> precision;
  // Context cap in positions; 0 = the model's default (LanguageModel::max_context()).
  int64_t max_context = 0;
  int64_t prefill_chunk = 512;    // tokens per prefill call; cancel is checked between chunks
  // --ubatch-size: positions per pass through the layers inside one prefill call (<= 0:
  // the whole call in one pass). Bounds activation memory at any prompt length, including
  // calls made with prefill_chunk <= 0 (generate, logits, bench); llm::kDefaultPrefillChunk.
  int64_t prefill_ubatch = 8192;
  // Turn-boundary snapshots kept per session besides the empty state (each is a copy of all
  // lightning states: 294 MB on the released model). Rewinding past the oldest kept one
  // restores an earlier snapshot and re-feeds the messages in between.
  int64_t max_snapshots = 6;
  // Which Pillow's resize to reproduce when images are preprocessed (--resize-compat). Classic
  // (Pillow <= 12, horizontal pass first) is what VL-01 was trained and released with; Pillow 13
  // runs the vertical pass first on tall images and gives them different pixels
  // (docs/resize-compat.md).
  vision::PillowPassOrder resize_compat = vision::PillowPassOrder::classic;
  // --quant: weight-only quantization of the text model at load (llm/weights/quant_rule.h);
  // CPU only for now (a CUDA backend refuses it at load).
  llm::QuantScheme quant = llm::QuantScheme::none;
  // false: a dir without tokenizer.json opens too (raw token-id requests only: `generate
  // --ids`, `logits` on golden dirs); chat requests then fail with a clear error.
  bool require_tokenizer = true;
  // > 1: the text model over tp tensor-parallel ranks (llm/parallel: CPU ranks as threads, or
  // GPUs device .. device + tp - 1); the vision half runs on the first.
  int tp = 1;
  // Requests running at once (each on its own runner thread; their decode steps are batched,
  // app/engine/core/step_scheduler.h). More wait in the queue.
  int max_running = 64;
  // One process per rank: >= 0 = this process is rank `rank` of tp (on `device` alone, the
  // vision half too), joining the others at `rendezvous` (CPU: a Unix socket path; CUDA: the
  // NCCL unique-id file on a shared filesystem). docs/parallel.md.
  int rank = -1;
  std::string rendezvous;
  // --max-image-tokens: a per-image budget of image tokens; an image whose released grid
  // needs more gets the best smaller grid that fits (vision::pinpoints_within_budget). 0 =
  // none, the released preprocessing. Departs from the reference: docs/tile-map.md.
  int64_t max_image_tokens = 0;
};

struct SamplingOptions {
  // temperature <= 0 means greedy (argmax), the official examples' choice and our default.
  float temperature = 0.0f;
  float top_p = 1.0f;             // nucleus mass kept; 1 = off
  int top_k = 0;                  // 0 = off
  uint64_t seed = 0;              // fixed by default so sampled runs are reproducible
  float repetition_penalty = 1.0f;  // 1 = off (HF CTRL-style: logit/p if >0 else logit*p)
};

struct GenerateOptions {
  int64_t max_tokens = 512;       // new tokens; <= 0 means "until EOS or the context is full"
  SamplingOptions sampling;
  std::vector<std::string> stop_strings;  // stop when the decoded answer ends with one
  // Cap on the whole conversation's positions after the prompt (image rows included),
  // checked before any image is encoded; 0 = only the context cap applies.
  int64_t max_prompt_tokens = 0;
};

}  // namespace mvl::engine
