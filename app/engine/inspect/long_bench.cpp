// `bench --path long` (long_bench.h): random weights for the first --layers layers, an Engine
// whose prefill calls are --chunk positions (each split into --ubatch passes through the
// layers, so activations stay bounded), a warm-up request of one chunk, then one raw request
// of --tokens ids whose prefill calls are timed to the device (RawPrompt::time_chunks) and
// whose decode steps run at the full context. The KV cache is reserved once by the engine
// (prompt + answer), so no chunk copies it.
#include "app/engine/inspect/long_bench.h"

#include <algorithm>
#include <chrono>

#include "app/engine/core/engine.h"
#include "app/engine/inspect/memory_plan.h"
#include "app/engine/inspect/model_bench.h"
#include "app/engine/loading/checkpoint.h"
#include "app/engine/loading/memory_fit.h"
#include "kernels/ops/device.h"
#include "llm/weights/random_weights.h"

namespace mvl::engine {
namespace {

constexpr int kWarmSteps = 2;  // the first decode steps run eagerly / capture the graph

DoneEvent run_raw(Engine& engine, std::vector<int32_t> ids, int64_t max_tokens, bool time_chunks) {
  Request q;
  q.kind = Request::Kind::raw;
  q.raw.ids = std::move(ids);
  q.raw.ignore_eos = true;
  q.raw.detokenize = false;
  q.raw.time_chunks = time_chunks;
  q.options.max_tokens = max_tokens;
  RequestHandle h = engine.submit(std::move(q));
  h.wait();
  if (h.error()) throw h.error()->error;
  return *h.done();
}

}  // namespace

LongBenchReport run_long_bench(const LongBenchOptions& o) {
  llm::TextConfig cfg = read_text_config(o.config);
  MVL_CHECK(o.layers >= 1 && o.layers <= cfg.num_hidden_layers, invalid_argument,
            "bench --path long: --layers {} but '{}' has {} layers", o.layers, o.config, cfg.num_hidden_layers);
  MVL_CHECK(o.tokens >= 1 && o.chunk >= 1 && o.ubatch >= 0 && o.decode_steps >= 1, invalid_argument,
            "bench --path long: --tokens, --chunk and --decode-steps must be positive");
  cfg.num_hidden_layers = o.layers;
  cfg.layer_types.resize(static_cast<size_t>(o.layers));
  LongBenchReport r;
  r.layers = o.layers;
  r.softmax_layers = cfg.num_softmax_layers();
  r.lightning_layers = cfg.num_lightning_layers();

  // The plan's bytes for this slice (bf16 on a GPU, f32 on the CPU).
  const DType wdt = o.cpu ? DType::f32 : DType::bf16;
  const uint64_t act = o.cpu ? 4 : 2;
  r.weight_bytes = static_cast<uint64_t>(llm::text_global_weight_bytes(cfg, wdt, o.quant));
  for (int64_t l = 0; l < o.layers; ++l)
    r.weight_bytes += static_cast<uint64_t>(llm::text_layer_weight_bytes(cfg, l, wdt, o.quant));
  const int64_t context = o.tokens + 1 + kWarmSteps + o.decode_steps;
  r.kv_bytes = static_cast<uint64_t>(r.softmax_layers * 2 * cfg.num_key_value_heads * cfg.head_dim) * act *
               static_cast<uint64_t>(context);
  r.lightning_bytes =
      static_cast<uint64_t>(r.lightning_layers * cfg.num_attention_heads * cfg.head_dim * cfg.head_dim) * 4;
  const int64_t pass = o.ubatch > 0 ? std::min(o.ubatch, o.chunk) : o.chunk;
  r.activation_estimate = prefill_activation_bytes(cfg, pass) * (act / 2);

  ops::DeviceContext dev;
  if (!o.cpu) {
    dev = ops::DeviceContext::open(Device::cuda(o.device));
    r.device_name = ops::cuda_device_name(o.device);
    const size_t free_b = read_gpu_memory(o.device).free_bytes;
    const uint64_t need = r.weight_bytes + r.kv_bytes + r.lightning_bytes + r.activation_estimate + kFitReserve;
    MVL_CHECK(need <= free_b, out_of_memory,
              "bench --path long: {} layers at {} tokens need about {} (weights {} + KV {} + one {}-position pass "
              "{} + {} reserve) but {} are free on GPU {}; pass fewer --layers or --tokens, a smaller --ubatch, or "
              "--quant fp8-experts",
              o.layers, o.tokens, format_bytes(need), format_bytes(r.weight_bytes), format_bytes(r.kv_bytes), pass,
              format_bytes(r.activation_estimate), format_bytes(kFitReserve), format_bytes(free_b), o.device);
  } else {
    r.device_name = "cpu";
  }
  const auto t0 = std::chrono::steady_clock::now();
  LoadedModel model = load_random_text_model(cfg, dev, o.seed, o.quant);
  dev.synchronize();
  r.make_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  EngineOptions eo;
  eo.prefill_chunk = o.chunk;
  eo.prefill_ubatch = pass;
  eo.max_context = context + 1;
  eo.max_running = 1;
  Engine engine(std::move(model), eo);
  std::vector<int32_t> ids(static_cast<size_t>(o.tokens));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 7919 + 13) % cfg.vocab_size);
  // Warm-up: one chunk (GEMM plans, the scratch arena, the first graph capture).
  run_raw(engine, {ids.begin(), ids.begin() + std::min(o.tokens, o.chunk)}, 1 + kWarmSteps, false);
  const DoneEvent d = run_raw(engine, ids, 1 + kWarmSteps + o.decode_steps, true);
  r.chunk_ms = d.prefill_chunk_ms;
  r.prefill_ms = d.timings.prefill_ms;
  MVL_CHECK(static_cast<int64_t>(d.step_ms.size()) == kWarmSteps + o.decode_steps, internal,
            "bench: {} decode steps timed, {} expected", d.step_ms.size(), kWarmSteps + o.decode_steps);
  r.decode_ms.assign(d.step_ms.begin() + kWarmSteps, d.step_ms.end());
  std::vector<double> sorted = r.decode_ms;
  std::sort(sorted.begin(), sorted.end());
  r.decode_ms_median = sorted[sorted.size() / 2];
  r.decode_report = d.decode_report;
  if (!o.cpu) {
    size_t free_b = 0, total_b = 0;
    if (ops::cuda_device_memory(o.device, &free_b, &total_b)) {
      r.device_used_bytes = total_b - free_b;
      r.device_total_bytes = total_b;
    }
  }
  return r;
}

}  // namespace mvl::engine
