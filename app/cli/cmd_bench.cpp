// `minimax-vl bench --random-weights`: benchmarks on the GPU with random weights at the shapes
// of a config.json (default: the released MiniMax-VL-01). Two sections:
//   model   the real model path users run: llm::TextModel::random (weights made on the device,
//           experts packed as load() packs them), prefill of --tokens tokens and greedy decode
//           steps at that context with CUDA graphs on and off;
//   kernels the kernel-level replica of the layer stack (kernels/bench/layer_stack_bench), which
//           also measures the copy rate and GEMM rate used for the floors.
// --path both (default) runs both in one process and prints model / replica ratios.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "app/cli/command.h"
#include "kernels/core/json.h"
#include "kernels/ops/device.h"
#include "kernels/ops/sampling.h"
#include "llm/config/text_config.h"
#include "llm/model/text_model.h"
#include "llm/weights/random_weights.h"
#ifdef MVL_HAVE_CUDA
#include "kernels/bench/layer_stack_bench.h"
#include "kernels/bench/timing.h"
#include "kernels/cuda/device_info.h"
#endif

namespace mvl::cli {

namespace {

struct BenchOpts {
  bool random_weights = false;
  std::string config = "configs/minimax-vl-01.json";
  int layers = 0;  // 0: as many as fit, at most 8
  int64_t tokens = 4096;
  int decode_steps = 32;
  int reps = 5;
  std::string path = "both";
  int64_t batch = 1;
  bool no_lm_head = false;
  int device = 0;
  uint64_t seed = 1;
};

constexpr int kDefaultLayers = 8;  // 7 lightning + 1 softmax: one full period of the released stack
constexpr double kGB = 1e9;

// The text config inside a VL-01 config.json (text_config), or a flat Text-01 config.
llm::TextConfig read_text_config(const std::string& path) {
  const json::Json root = json::parse_file(path);
  const bool nested = root.contains("text_config");
  return llm::TextConfig::from_json(nested ? json::get_object(root, "text_config", path) : root,
                                    "'" + path + "'" + (nested ? " text_config" : ""));
}

#ifdef MVL_HAVE_CUDA
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

struct ModelBench {
  int64_t layers = 0;
  double weight_gb = 0, make_s = 0;
  double prefill_ms = 0, graph_ms = 0, eager_ms = 0, step_bytes = 0;
  double copy_tbs = 0;  // measured here only when asked (--path model)
  llm::DecodeGraphStats graph_stats;
};

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

ModelBench run_model_bench(const BenchOpts& o, llm::TextConfig cfg, int64_t layers,
                           bool measure_copy) {
  ModelBench r;
  r.layers = layers;
  cfg.num_hidden_layers = layers;
  cfg.layer_types.resize(static_cast<size_t>(layers));
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(o.device));
  if (measure_copy)
    r.copy_tbs = cuda::measure_copy_bandwidth(
                     *std::static_pointer_cast<const cuda::Context>(dev.backend())) /
                 1e12;
  auto t0 = std::chrono::steady_clock::now();
  const llm::TextModel graphed = llm::TextModel::random(cfg, dev, {}, o.seed);
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
  const llm::TextModel eager = graphed.with_cuda_graphs(false);

  std::vector<int32_t> ids(static_cast<size_t>(o.tokens));
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = static_cast<int32_t>((i * 7919 + 13) % cfg.vocab_size);
  std::vector<double> pre;
  llm::SequenceState st = graphed.new_state();
  Tensor logits;
  for (int rep = 0; rep <= o.reps; ++rep) {  // rep 0 warms up (allocations, GEMM plans)
    st = graphed.new_state();
    dev.synchronize();
    t0 = std::chrono::steady_clock::now();
    logits = graphed.prefill({llm::Segment::tokens(ids)}, st);
    dev.synchronize();
    if (rep > 0) pre.push_back(ms_since(t0));
  }
  r.prefill_ms = median(pre);

  // Greedy decode at context --tokens: the next token stays on the device (argmax_rows).
  const int64_t steps = static_cast<int64_t>(o.decode_steps) * (o.reps + 1) + 2;
  st.reserve_kv(o.tokens + steps + 1);  // no cache growth (and re-capture) inside a timed run
  llm::SequenceState st_eager = st.clone();
  const Tensor first = ops::argmax_rows(logits);
  auto time_decode = [&](const llm::TextModel& m, llm::SequenceState& s) {
    Tensor tok = first;
    for (int w = 0; w < 2; ++w)
      tok = ops::argmax_rows(m.decode(tok, s));  // eager warm-up + capture
    std::vector<double> ms;
    for (int rep = 0; rep < o.reps; ++rep) {
      dev.synchronize();
      const auto t = std::chrono::steady_clock::now();
      for (int i = 0; i < o.decode_steps; ++i) tok = ops::argmax_rows(m.decode(tok, s));
      dev.synchronize();
      ms.push_back(ms_since(t) / o.decode_steps);
    }
    return median(ms);
  };
  r.graph_ms = time_decode(graphed, st);
  r.graph_stats = graphed.decode_graph_stats(st);
  r.eager_ms = time_decode(eager, st_eager);
  r.step_bytes = decode_step_bytes(cfg, o.tokens);
  return r;
}

const cuda::StackBenchRow* find_row(const cuda::StackBenchReport& rep, const std::string& prefix,
                                    const std::string& suffix) {
  for (const auto& row : rep.rows)
    if (row.name.rfind(prefix, 0) == 0 && row.name.size() >= suffix.size() &&
        row.name.compare(row.name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return &row;
  return nullptr;
}

int run_bench(const BenchOpts& o, const llm::TextConfig& full) {
  const int n_dev = ops::cuda_device_count();
  MVL_CHECK(
      n_dev > o.device, unsupported,
      "bench needs a CUDA GPU: {} (device {} requested, {} usable); run it on a machine with an "
      "NVIDIA GPU and driver",
      n_dev == 0 ? "none is usable here" : "no such device", o.device, n_dev);
  const bool want_model = o.path != "kernels", want_kernels = o.path != "model";
  std::printf("GPU %d: %s\n", o.device, ops::cuda_device_name(o.device).c_str());
  int64_t layers =
      o.layers > 0 ? o.layers : std::min<int64_t>(kDefaultLayers, full.num_hidden_layers);

  cuda::StackBenchReport rep;
  double copy_tbs = 0;
  const int64_t replica_layers = layers;
  if (want_kernels) {
    cuda::StackBenchOptions so;
    so.config_path = o.config;
    so.layers = static_cast<int>(layers);
    so.tokens = o.tokens;
    so.decode_batch = o.batch;
    so.reps = o.reps;
    so.lm_head = !o.no_lm_head;
    so.device = o.device;
    rep = cuda::run_stack_bench(so);
    copy_tbs = rep.copy_tbs;
    std::printf(
        "\n== kernels: layer-stack replica (kernels/cuda only; experts shared by all layers)\n");
    std::printf("measured copy %.2f TB/s, bf16 GEMM %.0f TFLOP/s\n", rep.copy_tbs, rep.gemm_tflops);
    std::printf("%-62s %12s %12s %8s\n", "what", "median ms", "floor ms", "x floor");
    for (const auto& r : rep.rows)
      std::printf("%-62s %12.3f %12.3f %8.2f  %s\n", r.name.c_str(), r.ms, r.floor_ms,
                  r.ms / r.floor_ms, r.note.c_str());
  }
  if (!want_model) return kExitOk;

  size_t free_b = 0, total_b = 0;
  MVL_CHECK(cuda::device_memory(o.device, &free_b, &total_b), device,
            "bench: cannot read the memory of GPU {}", o.device);
  double per_layer = 0, globals = 0;
  const int64_t fit = layers_that_fit(full, o.tokens, free_b, &per_layer, &globals);
  std::printf(
      "\n== model: llm::TextModel with random bf16 weights (the code path of ask/chat/generate)\n");
  std::printf(
      "memory: %.1f GB free of %.1f GB; %.2f GB per layer + %.2f GB embedding/LM head -> %lld "
      "layers fit\n",
      free_b / kGB, total_b / kGB, per_layer / kGB, globals / kGB, static_cast<long long>(fit));
  if (o.layers > 0) {
    MVL_CHECK(fit >= o.layers, out_of_memory,
              "bench: --layers {} needs about {:.1f} GB but {:.1f} GB are free; at most {} layers "
              "fit here, pass "
              "--layers {} (or --path kernels, whose experts are shared)",
              o.layers, (globals + o.layers * per_layer) / kGB, free_b / kGB, fit,
              std::max<int64_t>(fit, 1));
  } else {
    MVL_CHECK(fit >= 1, out_of_memory,
              "bench: not even one layer ({:.1f} GB) fits in the {:.1f} GB free",
              (globals + per_layer) / kGB, free_b / kGB);
    layers = std::min(layers, fit);
  }
  const ModelBench m = run_model_bench(o, full, layers, copy_tbs == 0);
  if (copy_tbs == 0) copy_tbs = m.copy_tbs;
  std::printf(
      "%lld layers (%.1f GB of weights, made on the GPU in %.1f s), prompt %lld tokens, %d decode "
      "steps x %d reps\n",
      static_cast<long long>(m.layers), m.weight_gb, m.make_s, static_cast<long long>(o.tokens),
      o.decode_steps, o.reps);
  std::printf("%-44s %12s %12s\n", "what", "median ms", "tok/s");
  std::printf("%-44s %12.3f %12.0f\n", ("prefill T=" + std::to_string(o.tokens)).c_str(),
              m.prefill_ms, o.tokens / (m.prefill_ms / 1e3));
  std::printf("%-44s %12.3f %12.1f\n", "decode step, CUDA graph (per token)", m.graph_ms,
              1e3 / m.graph_ms);
  std::printf("%-44s %12.3f %12.1f\n", "decode step, op by op (per token)", m.eager_ms,
              1e3 / m.eager_ms);
  std::printf("graph stats: %lld replays, %lld captures, %lld eager steps%s%s\n",
              static_cast<long long>(m.graph_stats.replays),
              static_cast<long long>(m.graph_stats.captures),
              static_cast<long long>(m.graph_stats.eager_steps),
              m.graph_stats.disabled.empty() ? "" : "; off: ", m.graph_stats.disabled.c_str());
  if (copy_tbs > 0) {
    const double floor_ms = m.step_bytes / (copy_tbs * 1e12) * 1e3;
    std::printf(
        "decode bytes floor: %.2f GB read per token / %.2f TB/s copy rate = %.3f ms; graph step = "
        "%.2fx floor\n",
        m.step_bytes / kGB, copy_tbs, floor_ms, m.graph_ms / floor_ms);
  }
  if (want_kernels) {
    const auto* pre = find_row(rep, "prefill stack", "");
    const auto* g = find_row(rep, "decode step", "(CUDA graph)");
    const auto* e = find_row(rep, "decode step", "(eager)");
    std::printf(
        "\n== model / kernel replica (same GPU, same run; > 1 = the model path is slower)%s\n",
        o.no_lm_head ? " [replica without LM head]" : "");
    if (replica_layers != m.layers)
      std::printf("(the replica ran %lld layers, the model %lld)\n",
                  static_cast<long long>(replica_layers), static_cast<long long>(m.layers));
    if (pre)
      std::printf("prefill           %10.3f / %10.3f ms = %.2f\n", m.prefill_ms, pre->ms,
                  m.prefill_ms / pre->ms);
    if (g)
      std::printf("decode CUDA graph %10.3f / %10.3f ms = %.2f\n", m.graph_ms, g->ms,
                  m.graph_ms / g->ms);
    if (e)
      std::printf("decode op by op   %10.3f / %10.3f ms = %.2f\n", m.eager_ms, e->ms,
                  m.eager_ms / e->ms);
  }
  return kExitOk;
}
#endif

}  // namespace

void add_bench_command(CLI::App& app, RunFn& run) {
  auto o = std::make_shared<BenchOpts>();
  CLI::App* sub = app.add_subcommand(
      "bench",
      "Time MiniMax-Text-01 on the GPU with random weights: the real model path (TextModel) and a "
      "kernel-level replica");
  sub->footer(
      "Examples:\n"
      "  minimax-vl bench --random-weights                      both sections, the released "
      "shapes\n"
      "  minimax-vl bench --random-weights --path model --layers 4 --tokens 8192\n"
      "  minimax-vl bench --random-weights --path kernels --batch 16\n"
      "The model section makes every weight on the GPU (bf16, ~11.3 GB per layer at the released "
      "size:\n"
      "H200 fits ~11 layers, H100 ~6) and prints how many layers fit; the defaults give 8 layers\n"
      "(7 lightning + 1 softmax) or fewer when they do not fit. Decode runs greedily at context\n"
      "--tokens with CUDA graphs on and off. The ratio lines compare the model with the replica\n"
      "measured in the same run; the bytes floor is the weights read per token over the copy "
      "rate.");
  sub->add_flag("--random-weights", o->random_weights,
                "Use random bf16 weights at the config's shapes (required: checkpoint benchmarks "
                "are not built yet)");
  sub->add_option("--config", o->config, "Model config.json giving the shapes (VL-01 or Text-01)")
      ->check(CLI::ExistingFile)
      ->capture_default_str();
  sub->add_option("--layers", o->layers,
                  "Decoder layers (the first N of attn_type_list); default: 8, or as many as fit")
      ->check(CLI::Range(1, 80));
  sub->add_option("--tokens", o->tokens, "Prefill length, also the decode context")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  sub->add_option("--decode-steps", o->decode_steps,
                  "Greedy decode steps per timed repetition (model)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  sub->add_option("--reps", o->reps, "Timed repetitions (median reported)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  sub->add_option("--path", o->path,
                  "What to time: model (TextModel), kernels (the replica) or both")
      ->check(CLI::IsMember({"model", "kernels", "both"}))
      ->capture_default_str();
  sub->add_option("--batch", o->batch,
                  "Sequences per decode step of the replica (1-64; the model path: 1)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  sub->add_flag("--no-lm-head", o->no_lm_head,
                "Leave the final norm + LM head + argmax out of the replica's decode step");
  sub->add_option("--seed", o->seed, "Seed of the random weights")->capture_default_str();
  sub->add_option("--device", o->device, "CUDA device index")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->callback([o, &run] {
    run = [o]() -> int {
      if (!o->random_weights)
        throw_error(
            ErrorCategory::invalid_argument,
            "bench needs --random-weights (benchmarks on a real checkpoint are not supported yet)");
      MVL_CHECK(o->path == "kernels" || o->batch == 1, invalid_argument,
                "bench: --batch {} applies to the kernel replica only; the model path decodes one "
                "sequence "
                "(pass --path kernels)",
                o->batch);
      const llm::TextConfig full = input_phase([&] { return read_text_config(o->config); });
      MVL_CHECK(o->layers <= full.num_hidden_layers, invalid_argument,
                "bench: --layers {} exceeds the {} layers of {}", o->layers, full.num_hidden_layers,
                o->config);
#ifdef MVL_HAVE_CUDA
      return run_bench(*o, full);
#else
      throw_error(
          ErrorCategory::unsupported,
          "bench needs a CUDA GPU, but this minimax-vl was built without the CUDA backend; rebuild "
          "with -DMVL_CUDA=ON on a machine with nvcc");
#endif
    };
  });
}

}  // namespace mvl::cli
