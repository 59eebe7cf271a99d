// `bench --path model` (model_bench.h): random weights made on the GPU, then raw requests
// through an Engine: each request prefills --tokens ids on a fresh state and decodes greedily
// with EOS ignored; the first kWarmSteps steps of each request (eager warm-up, graph capture)
// are not timed. The decode time is the host's, between consecutive ids reaching it, through
// the decode loop every front end runs (app/engine/core/decode_loop.h): sampling on the GPU,
// the next step queued from the device-side id, then the 8-byte read of (id, NaN flag).
#include "app/engine/inspect/model_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <variant>
#include <vector>

#include "app/engine/core/engine.h"
#include "app/engine/inspect/memory_plan.h"
#include "app/engine/loading/checkpoint.h"
#include "app/engine/loading/sharded_lm.h"
#include "kernels/core/json.h"
#include "kernels/ops/device.h"
#include "llm/config/text_config.h"
#include "llm/weights/random_weights.h"

namespace mvl::engine {
namespace {

constexpr double kGB = 1e9;

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
// With batch B > 1: one step of B sequences at that context: the weights once, of the experts
// the expected number E (1 - (1 - k/E)^B) a layer's B tokens touch under uniform routing, and
// B sequences' states / KV caches and embedding rows.
double decode_step_bytes(const llm::TextConfig& c, int64_t ctx, llm::QuantScheme q, int batch = 1) {
  const double H = c.hidden_size, nh = c.num_attention_heads, dh = c.head_dim,
               nkv = c.num_key_value_heads;
  const double E = c.num_local_experts, k = c.num_experts_per_tok;
  const double Bn = batch;
  double b = 2.0 * (c.vocab_size * H + 2 * H) + 2.0 * (Bn - 1) * H;
  const double touched = batch == 1 ? k : E * (1.0 - std::pow(1.0 - k / E, Bn));
  // One expert's three matrices as stored under q (an expert tensor's format is the scheme's).
  llm::TextTensor ex;
  ex.role = llm::TextRole::expert_w1;
  ex.shape = {c.intermediate_size, c.hidden_size};
  ex.out_axis = 0;
  ex.in_axis = 1;
  const double expert =
      3.0 * static_cast<double>(quantized_bytes(ex.shape, 1, llm::quant_format_of(ex, q), 2));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const double all = static_cast<double>(llm::text_layer_weight_bytes(c, l, DType::bf16, q));
    b += all - (E - touched) * expert;  // only the chosen experts are read
    b += Bn * (c.is_softmax(l) ? 2.0 * ctx * nkv * dh * 2 : 2.0 * nh * dh * dh * 4);
  }
  return b;
}


// How many decoder layers of cfg fit next to the embedding, LM head and activations.
int64_t layers_that_fit(const llm::TextConfig& full, int64_t tokens, size_t free_b,
                        double* per_layer, double* globals, llm::QuantScheme q) {
  double pl = 0;
  for (int64_t l = 0; l < full.num_hidden_layers; ++l)
    pl = std::max(pl, static_cast<double>(llm::text_layer_weight_bytes(full, l, DType::bf16, q)));
  *per_layer = pl;
  *globals = static_cast<double>(llm::text_global_weight_bytes(full, DType::bf16, q));
  const double reserve = 2.0 * (1 << 30) + static_cast<double>(tokens) * (256 << 10);
  const double room = static_cast<double>(free_b) - *globals - reserve;
  return room <= 0 ? 0 : static_cast<int64_t>(room / pl);
}

}  // namespace

llm::TextConfig read_text_config(const std::string& path) {
  const json::Json root = json::parse_file(path);
  const bool nested = root.contains("text_config");
  return llm::TextConfig::from_json(nested ? json::get_object(root, "text_config", path) : root,
                                    "'" + path + "'" + (nested ? " text_config" : ""));
}

int64_t bench_config_layers(const std::string& config_path) {
  return read_text_config(config_path).num_hidden_layers;
}

ModelBenchFit model_bench_fit(const std::string& config_path, int64_t tokens, int device,
                              llm::QuantScheme quant, int tp) {
  ModelBenchFit f;
  const GpuMemory m = read_gpu_memory(device);
  f.free_bytes = m.free_bytes;
  f.total_bytes = m.total_bytes;
  // The fullest GPU of tp: its share of every layer and of the embedding/LM head (the plan's
  // split: heads, experts and vocabulary rows; replicated norms and routers are small).
  const size_t free_b = f.free_bytes * static_cast<size_t>(std::max(tp, 1));
  f.layers_that_fit = layers_that_fit(read_text_config(config_path), tokens, free_b,
                                      &f.per_layer_bytes, &f.global_bytes, quant);
  return f;
}

ModelBenchReport run_model_bench(const ModelBenchOptions& o) {
  llm::TextConfig cfg = read_text_config(o.config);
  const int64_t layers = o.layers;
  ModelBenchReport r;
  r.layers = layers;
  cfg.num_hidden_layers = layers;
  cfg.layer_types.resize(static_cast<size_t>(layers));
  MVL_CHECK(!o.cpu || (o.tp == 1 && !o.rank_moe), unsupported,
            "bench: the CPU model bench runs TextModel on one device (no --tp, no --rank-moe)");
  const ops::DeviceContext dev =
      ops::DeviceContext::open(o.cpu ? Device::cpu() : Device::cuda(o.device));
  MVL_CHECK(o.tp == 1 || o.batch == 1, unsupported,
            "bench: --batch with --tp is not wired yet (batched decode runs on one GPU)");
  auto t0 = std::chrono::steady_clock::now();
  LoadedModel model = o.tp > 1 || o.rank_moe
                          ? load_random_sharded_model(cfg, o.tp, Device::cuda(o.device), o.seed,
                                                      o.quant, o.rank_moe)
                          : load_random_text_model(cfg, dev, o.seed, o.quant);
  dev.synchronize();  // (tp > 1: the ranks' own streams finish in the warm-up request)
  r.make_s = ms_since(t0) / 1e3;
  r.weight_gb = (llm::text_global_weight_bytes(cfg, DType::bf16, o.quant) +
                 [&] {
                   double s = 0;
                   for (int64_t l = 0; l < layers; ++l)
                     s += llm::text_layer_weight_bytes(cfg, l, DType::bf16, o.quant);
                   return s;
                 }()) /
                kGB;

  // The engine ask/chat/generate use: raw requests of --tokens ids, greedy, EOS ignored.
  // Each request prefills on a fresh state, then decodes; the sampler runs on the GPU and
  // only the id comes back (one read per token, overlapped with the next step, as in every
  // front end).
  EngineOptions eo;
  eo.prefill_chunk = 0;  // the prompt in one prefill call
  eo.max_context = o.tokens + o.decode_steps + 5 * o.batch + 80;  // (batched requests: + their slack)
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
  // B requests at once, each with its own prompt, timed over the window where all B decode
  // together (below). Once per BatchDecodeMode, op by op and as CUDA graphs (the batched modes: captured once the
  // B requests step together), the default (batched, graphs) last so the engine keeps it.
  struct Mode {
    BatchDecodeMode mode;
    bool graphs;
    const char* name;
  };
  const Mode modes[] = {{BatchDecodeMode::per_sequence, false, "per-sequence, op by op"},
                        {BatchDecodeMode::batched_fill, true, "batched-fill, graph"},
                        {BatchDecodeMode::batched, false, "batched, op by op"},
                        {BatchDecodeMode::batched, true, "batched, graph"}};
  for (size_t mi = 0; mi < (o.batch > 1 ? std::size(modes) : 0); ++mi) {
    const Mode& md = modes[mi];
    const char* mode_name = md.name;
    engine.set_batch_decode_mode(md.mode);
    const SchedulerStats before = engine.scheduler_stats();
    // Each request runs until all B have their first token and it has decoded
    // kWarmSteps + decode_steps more since, then cancels itself: the window where all B decode
    // together does not depend on how soon the OS starts each request's thread (the engine
    // admits one prompt per step; under load a request can join late). kSlack caps a request
    // whose peers never all start (the window check below then reports it).
    const int64_t kSlack = 4 * static_cast<int64_t>(o.batch) + 64;
    std::vector<RequestHandle> hs(static_cast<size_t>(o.batch));
    std::vector<std::vector<double>> times(static_cast<size_t>(o.batch));
    std::vector<int64_t> since_all(static_cast<size_t>(o.batch), 0);
    int started = 0;
    std::mutex mu;
    for (int b = 0; b < o.batch; ++b) {
      Request q;
      q.kind = Request::Kind::raw;
      q.raw.ids = ids;
      q.raw.ids[0] = static_cast<int32_t>((b * 131 + 7) % cfg.vocab_size);
      q.raw.ignore_eos = true;
      q.raw.decode_graphs = md.graphs;
      q.options.max_tokens = 1 + kWarmSteps + o.decode_steps + kSlack;
      q.on_event = [&, b](const Event& e) {
        if (!std::holds_alternative<TokenEvent>(e)) return;
        std::lock_guard<std::mutex> lock(mu);
        auto& mine = times[static_cast<size_t>(b)];
        mine.push_back(now_ms());
        if (mine.size() == 1) ++started;
        if (started < o.batch) return;
        if (++since_all[static_cast<size_t>(b)] > kWarmSteps + o.decode_steps && hs[static_cast<size_t>(b)].valid())
          hs[static_cast<size_t>(b)].cancel();
      };
      RequestHandle h = engine.submit(std::move(q));
      std::lock_guard<std::mutex> lock(mu);
      hs[static_cast<size_t>(b)] = std::move(h);
    }
    for (RequestHandle& h : hs) {
      h.wait();
      if (h.error()) throw h.error()->error;
    }
    // The window where all B requests were decoding: from the last one's first token (its
    // prefill) to the first one's last token. Step time = the median interval between a
    // request's consecutive tokens inside it; aggregate = tokens inside it / its length; mean B
    // = tokens inside it / the most any one request produced there (its steps).
    double lo = 0, hi = 1e300;
    for (const auto& t : times) {
      MVL_CHECK(!t.empty(), internal, "bench: a batched request produced no token");
      lo = std::max(lo, t.front());
      hi = std::min(hi, t.back());
    }
    int64_t in_window = 0, most = 0;
    std::vector<double> gaps;
    for (const auto& t : times) {
      int64_t mine = 0;
      for (size_t i = 0; i < t.size(); ++i) {
        mine += t[i] > lo && t[i] <= hi;
        if (i > 0 && t[i - 1] >= lo && t[i] <= hi) gaps.push_back(t[i] - t[i - 1]);
      }
      in_window += mine;
      most = std::max(most, mine);
    }
    MVL_CHECK(!gaps.empty(), internal, "bench: the {} batched requests never decoded together", o.batch);
    r.batch = o.batch;
    ModelBenchReport::BatchRow row;
    row.mode = mode_name;
    row.step_ms = median(gaps);
    row.seq_tok_s = row.step_ms > 0 ? 1000.0 / row.step_ms : 0;
    row.agg_tok_s = hi > lo ? in_window * 1000.0 / (hi - lo) : 0;
    row.mean_b = most > 0 ? static_cast<double>(in_window) / static_cast<double>(most) : 0;
    const SchedulerStats mode_stats = engine.scheduler_stats().since(before);
    row.max_batch = mode_stats.max_batch();
    row.step_mean_b = mode_stats.steps() > 0 ? static_cast<double>(mode_stats.decoded()) /
                                                   static_cast<double>(mode_stats.steps())
                                             : 0;
    r.batch_rows.push_back(row);
  }
  if (o.batch > 1) r.batch_step_bytes = decode_step_bytes(cfg, o.tokens, o.quant, o.batch);
  r.prefill_ms = median(pre);
  r.graph_ms = median(graph);
  r.eager_ms = median(eager);
  r.tp = o.tp;
  r.step_bytes = decode_step_bytes(cfg, o.tokens, o.quant) / o.tp;
  return r;
}

}  // namespace mvl::engine
