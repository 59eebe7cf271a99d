// `bench --path model` (model_bench.h): random weights made on the GPU, then raw requests
// through an Engine: each request prefills --tokens ids on a fresh state and decodes greedily
// with EOS ignored; the first kWarmSteps steps of each request (eager warm-up, graph capture)
// are not timed. The decode time is the host's: sampling on the GPU, the id read back, the
// next decode launched, as every front end runs it.
#include "app/engine/inspect/model_bench.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "app/engine/core/engine.h"
#include "app/engine/loading/checkpoint.h"
#include "kernels/core/json.h"
#include "kernels/ops/device.h"
#include "llm/config/text_config.h"
#include "llm/weights/random_weights.h"

namespace mvl::engine {
namespace {

constexpr double kGB = 1e9;

// The text config inside a VL-01 config.json (text_config), or a flat Text-01 config.
llm::TextConfig read_text_config(const std::string& path) {
  const json::Json root = json::parse_file(path);
  const bool nested = root.contains("text_config");
  return llm::TextConfig::from_json(nested ? json::get_object(root, "text_config", path) : root,
                                    "'" + path + "'" + (nested ? " text_config" : ""));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Bytes one greedy decode step (one sequence) must read at context ctx: every attention weight,
// norm and router, the top-k experts of each layer, the lightning states (read + written) or
// the KV cache, the final norm and the LM head, one embedding row.
double decode_step_bytes(const llm::TextConfig& c, int64_t ctx) {
  const double H = c.hidden_size, nh = c.num_attention_heads, dh = c.head_dim,
               nkv = c.num_key_value_heads;
  const double I = c.intermediate_size, E = c.num_local_experts, k = c.num_experts_per_tok;
  double b = 2.0 * (c.vocab_size * H + 2 * H);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const double all = static_cast<double>(llm::text_layer_weight_bytes(c, l, DType::bf16));
    b += all - 2.0 * (E - k) * 3 * I * H;  // only the chosen experts are read
    b += c.is_softmax(l) ? 2.0 * ctx * nkv * dh * 2 : 2.0 * nh * dh * dh * 4;
  }
  return b;
}


// How many decoder layers of cfg fit next to the embedding, LM head and activations.
int64_t layers_that_fit(const llm::TextConfig& full, int64_t tokens, size_t free_b,
                        double* per_layer, double* globals) {
  double pl = 0;
  for (int64_t l = 0; l < full.num_hidden_layers; ++l)
    pl = std::max(pl, static_cast<double>(llm::text_layer_weight_bytes(full, l, DType::bf16)));
  *per_layer = pl;
  *globals = static_cast<double>(llm::text_global_weight_bytes(full, DType::bf16));
  const double reserve = 2.0 * (1 << 30) + static_cast<double>(tokens) * (256 << 10);
  const double room = static_cast<double>(free_b) - *globals - reserve;
  return room <= 0 ? 0 : static_cast<int64_t>(room / pl);
}

}  // namespace

int64_t bench_config_layers(const std::string& config_path) {
  return read_text_config(config_path).num_hidden_layers;
}

ModelBenchFit model_bench_fit(const std::string& config_path, int64_t tokens, int device) {
  ModelBenchFit f;
  MVL_CHECK(ops::cuda_device_memory(device, &f.free_bytes, &f.total_bytes), device,
            "bench: cannot read the memory of GPU {}", device);
  f.layers_that_fit = layers_that_fit(read_text_config(config_path), tokens, f.free_bytes, &f.per_layer_bytes,
                                      &f.global_bytes);
  return f;
}

ModelBenchReport run_model_bench(const ModelBenchOptions& o) {
  llm::TextConfig cfg = read_text_config(o.config);
  const int64_t layers = o.layers;
  ModelBenchReport r;
  r.layers = layers;
  cfg.num_hidden_layers = layers;
  cfg.layer_types.resize(static_cast<size_t>(layers));
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(o.device));
  auto t0 = std::chrono::steady_clock::now();
  LoadedModel model = load_random_text_model(cfg, dev, o.seed);
  dev.synchronize();
  r.make_s = ms_since(t0) / 1e3;
  r.weight_gb = (llm::text_global_weight_bytes(cfg, DType::bf16) +
                 [&] {
                   double s = 0;
                   for (int64_t l = 0; l < layers; ++l)
                     s += llm::text_layer_weight_bytes(cfg, l, DType::bf16);
                   return s;
                 }()) /
                kGB;

  // The engine ask/chat/generate use: raw requests of --tokens ids, greedy, EOS ignored.
  // Each request prefills on a fresh state, then decodes; the sampler runs on the GPU and
  // only the id comes back (one host round trip per token, as in every front end).
  EngineOptions eo;
  eo.prefill_chunk = 0;  // the prompt in one prefill call
  eo.max_context = o.tokens + o.decode_steps + 8;
  Engine engine(std::move(model), eo);
  std::vector<int32_t> ids(static_cast<size_t>(o.tokens));
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = static_cast<int32_t>((i * 7919 + 13) % cfg.vocab_size);
  constexpr int kWarmSteps = 2;  // the first decode steps run eagerly / capture the graph
  auto run = [&](bool graphs) {
    Request q;
    q.kind = Request::Kind::raw;
    q.raw.ids = ids;
    q.raw.ignore_eos = true;
    q.raw.decode_graphs = graphs;
    q.options.max_tokens = 1 + kWarmSteps + o.decode_steps;  // the first token comes from prefill
    RequestHandle h = engine.submit(std::move(q));
    h.wait();
    if (h.error()) throw h.error()->error;
    return *h.done();
  };
  auto mean_step = [&](const DoneEvent& d) {
    MVL_CHECK(static_cast<int64_t>(d.step_ms.size()) == kWarmSteps + o.decode_steps, internal,
              "bench: {} decode steps timed, {} expected", d.step_ms.size(), kWarmSteps + o.decode_steps);
    double s = 0;
    for (size_t i = kWarmSteps; i < d.step_ms.size(); ++i) s += d.step_ms[i];
    return s / o.decode_steps;
  };
  std::vector<double> pre, graph, eager;
  for (int rep = 0; rep <= o.reps; ++rep) {  // rep 0 warms up (allocations, GEMM plans)
    const DoneEvent g = run(true);
    const DoneEvent e = run(false);
    if (rep == 0) continue;
    pre.push_back(g.timings.prefill_ms);
    pre.push_back(e.timings.prefill_ms);
    graph.push_back(mean_step(g));
    eager.push_back(mean_step(e));
    r.graph_report = g.decode_report;
  }
  r.prefill_ms = median(pre);
  r.graph_ms = median(graph);
  r.eager_ms = median(eager);
  r.step_bytes = decode_step_bytes(cfg, o.tokens);
  return r;
}

}  // namespace mvl::engine
