// `bench --path long` (issue 21 item 2): a long prompt through a slice of the text model with
// random weights (by default 8 layers of the released shapes = 7 lightning + 1 softmax), timed
// through an Engine raw request: the prompt fed in --chunk-position prefill calls, each timed
// to the device (lightning layers cost the same per chunk, the softmax layer grows with the
// prefix), then greedy decode steps at the full context, and the device memory at the end.
// Runs on a GPU at the released shapes, and on the CPU at tiny shapes (the CI test).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "llm/weights/quant_rule.h"

namespace mvl::engine {

struct LongBenchOptions {
  std::string config;            // config.json: VL-01 (its text_config) or a flat Text-01 one
  int64_t layers = 8;            // the first N decoder layers of the config
  int64_t tokens = 1 << 20;      // prompt positions = the decode context
  int64_t chunk = 65536;         // positions per timed prefill call
  int64_t ubatch = 16384;        // positions per pass through the layers inside a call
  int decode_steps = 8;          // timed decode steps at the full context (median reported)
  bool cpu = false;              // run on the CPU (f32) instead of CUDA device `device`
  int device = 0;
  uint64_t seed = 1;
  llm::QuantScheme quant = llm::QuantScheme::none;  // the random weights' scheme
};

struct LongBenchReport {
  int64_t layers = 0, lightning_layers = 0, softmax_layers = 0;
  std::string device_name;                 // the GPU's name, or "cpu"
  double make_s = 0;                       // random weights made
  std::vector<double> chunk_ms;            // one per prefill call, in prompt order
  double prefill_ms = 0;                   // the request's whole prefill
  std::vector<double> decode_ms;           // the timed steps at the full context
  double decode_ms_median = 0;
  std::string decode_report;               // the engine's graph report for the request
  // Bytes: the plan's (weights of the slice, KV cache at `tokens`, lightning states) and the
  // GPU's used memory (total - free, every allocation of the process) after the run.
  uint64_t weight_bytes = 0, kv_bytes = 0, lightning_bytes = 0, activation_estimate = 0;
  uint64_t device_used_bytes = 0, device_total_bytes = 0;
};

// Throws Error (a config that cannot be read, a slice that does not fit the GPU).
LongBenchReport run_long_bench(const LongBenchOptions& o);

}  // namespace mvl::engine
