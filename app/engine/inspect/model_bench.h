// `bench --path model`: the text model with random weights at a config's shapes, timed
// through the Engine's raw requests (prefill of `tokens` ids, then greedy decode at that
// context with the sampler on the GPU and the id read back each step, overlapped with the
// next step: the decode loop of ask/chat/generate), with CUDA graphs on and off. The CLI
// prints the report.
#pragma once

#include <optional>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "llm/config/text_config.h"
#include "llm/parallel/sharded_layers.h"
#include "llm/weights/quant_rule.h"

namespace mvl::engine {

struct ModelBenchOptions {
  std::string config;      // config.json: a VL-01 config (its text_config) or a flat Text-01 one
  int64_t layers = 0;      // decoder layers to build (the first N of the config's)
  int64_t tokens = 4096;   // prompt length = the decode context
  int decode_steps = 32;   // timed steps per request
  int reps = 5;            // timed requests per mode (one more warms up)
  int device = 0;          // CUDA device index
  bool cpu = false;        // the CPU instead (tp 1, no rank_moe): a small --config in tests
  uint64_t seed = 1;       // of the random weights
  llm::QuantScheme quant = llm::QuantScheme::none;  // --quant: weights made in this scheme
  int batch = 1;           // > 1: also B concurrent requests, continuously batched by the engine
  int tp = 1;              // > 1: the text model over GPUs device .. device + tp - 1
                           // (llm::ShardedTextModel, random weights made per rank in `quant`;
                           // no CUDA graphs on that path yet)
  // Set: the sharded model even at tp 1, every rank (also one holding all the experts) running
  // this per-rank MoE (llm::RankMoe), so one GPU times what the ranks of tp > 1 run.
  std::optional<llm::RankMoe> rank_moe;
};

struct ModelBenchFit {
  size_t free_bytes = 0, total_bytes = 0;  // of the GPU now
  double per_layer_bytes = 0, global_bytes = 0;
  int64_t layers_that_fit = 0;             // next to the embedding, LM head and activations
};

struct ModelBenchReport {
  int64_t layers = 0;
  double weight_gb = 0, make_s = 0;
  double prefill_ms = 0;        // median over the timed requests
  double graph_ms = 0;          // per decode step (host clock between ids: the engine's loop)
  double eager_ms = 0;          // the same, op by op
  double step_bytes = 0;        // bytes one decode step must read (the floor's numerator; with
                                // tp > 1, per GPU: 1/tp of the model's, read in parallel)
  int tp = 1;
  std::string graph_report;     // the engine's decode report of a graphed request
  // With batch > 1: B raw requests at once (each its own prompt and state), their decode
  // steps batched by the engine's scheduler (TextModel::decode_batch).
  // One row per way of running the attention's per-sequence work (llm::BatchAttention), op by
  // op or as CUDA graphs, each timed with the same B requests: per_sequence (the B
  // single-sequence calls per layer it replaced), batched (the default), batched_fill.
  int batch = 1;
  struct BatchRow {
    std::string mode;            // llm::batch_attention_name
    // Over the window where all B requests decode together:
    double step_ms = 0;          // median interval between a request's consecutive tokens
    double seq_tok_s = 0;        // 1000 / step_ms: one sequence's decode tok/s
    double agg_tok_s = 0;        // all sequences' tokens / the window's wall time
    double mean_b = 0;           // tokens / steps in the window (B when the window is clean)
    // Counted by the engine's scheduler over the whole mode (ramp-up and drain included), so
    // they do not depend on timing: the largest batch one decode step advanced (B when all B
    // requests decoded together) and sequences advanced / decode steps.
    int64_t max_batch = 0;
    double step_mean_b = 0;
  };
  std::vector<BatchRow> batch_rows;
  double batch_step_bytes = 0;   // bytes one batched step of `batch` sequences must read: the
                                 // weights once (the experts B tokens are expected to touch under
                                 // uniform routing), every sequence's states / KV caches
};

// The text config inside a VL-01 config.json (text_config), or a flat Text-01 config.
llm::TextConfig read_text_config(const std::string& config_path);
// The decoder layers of a config.json; throws Error for a missing or malformed file.
int64_t bench_config_layers(const std::string& config_path);
// How many layers of the config fit on the GPU with a `tokens` prompt; throws
// Error{device} when the GPU's memory cannot be read.
// With tp > 1 the weights are split over tp such GPUs (each holds about 1/tp of them).
ModelBenchFit model_bench_fit(const std::string& config_path, int64_t tokens, int device,
                              llm::QuantScheme quant = llm::QuantScheme::none, int tp = 1);
// Builds the model on the GPU and times it. Throws Error.
ModelBenchReport run_model_bench(const ModelBenchOptions& o);

}  // namespace mvl::engine
