// `minimax-vl bench --random-weights`: benchmarks on the GPU with random weights at the shapes
// of a config.json (default: the released MiniMax-VL-01). Two sections:
//   model   the engine's raw requests over llm::TextModel::random (app/engine/inspect/
//           model_bench.h): prefill of --tokens tokens, then greedy decode at that context with
//           the sampler on the GPU, CUDA graphs on and off: the road ask/chat/generate take;
//   kernels the kernel-level replica of the layer stack (kernels/bench/layer_stack_bench, through
//           app/engine/inspect/kernel_bench.h), which also measures the copy rate and GEMM rate
//           used for the floors.
// --path both (default) runs both in one process and prints model / replica ratios.
//   long    a long prompt through a layer slice in timed chunks, then decode at that context
//           (app/engine/inspect/long_bench.h); also on the CPU (--device cpu) at tiny shapes.
//   vl      one image question end to end, per stage: decode, preprocess, ViT, projector +
//           packing, prefill, first token (app/engine/inspect/vl_bench.h); also on the CPU.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "app/cli/command.h"
#include "app/cli/flags.h"
#include "app/engine/inspect/kernel_bench.h"
#include "app/engine/inspect/long_bench.h"
#include "app/engine/inspect/memory_plan.h"
#include "app/engine/inspect/model_bench.h"
#include "app/engine/inspect/vl_bench.h"
#include "app/engine/loading/install_paths.h"
#include "kernels/ops/device.h"

namespace mvl::cli {

namespace {

struct BenchOpts {
  bool random_weights = false;
  // The released shapes as installed (<prefix>/share/minimax-vl/configs), never the cwd.
  std::string config = engine::shipped_path("configs/minimax-vl-01.json");
  int layers = 0;  // 0: as many as fit, at most 8
  int64_t tokens = 4096;
  int decode_steps = 32;
  int reps = 5;
  std::string path = "both";
  int64_t batch = 1;
  bool no_lm_head = false;
  std::string device_flag = "cuda";  // --device cuda|cuda:N (a bare N still parses)
  int device = 0;                    // its index
  uint64_t seed = 1;
  std::string quant;  // --quant: model weights in this scheme; kernels: the quantized MoE rows
  int tp = 1;         // --tp: the model path over GPUs device .. device + tp - 1
  std::string rank_moe;  // --rank-moe: the sharded model path's per-rank MoE (kernels|generic)
  bool cpu = false;   // --device cpu (--path long only)
  int64_t chunk = 65536;   // --chunk: positions per timed prefill call (--path long)
  int64_t ubatch = 16384;  // --ubatch-size: positions per pass inside a call (--path long)
  bool chunk_given = false, ubatch_given = false;  // --path vl defaults to ask's otherwise
  std::vector<std::string> images;  // --image: files for --path vl
  std::vector<std::string> sizes;   // --size WxH: generated images for --path vl
  std::string images_dir;           // --images-dir: keep the generated PNGs there
};

// "2016x2016" -> {2016, 2016}; a usage error otherwise.
std::pair<int64_t, int64_t> parse_size(const std::string& s) {
  const size_t x = s.find_first_of("xX");
  int64_t w = 0, h = 0;
  try {
    size_t a = 0, b = 0;
    if (x != std::string::npos) {
      w = std::stoll(s.substr(0, x), &a);
      h = std::stoll(s.substr(x + 1), &b);
    }
    if (a != x || b != s.size() - x - 1) w = h = 0;
  } catch (const std::exception&) {
    w = h = 0;
  }
  MVL_CHECK(w >= 1 && h >= 1 && w <= 16384 && h <= 16384, invalid_argument,
            "--size '{}': expected WIDTHxHEIGHT in pixels, each 1..16384 (e.g. 2016x2016)", s);
  return {w, h};
}

// --path vl: per image, the stages (medians), TTFT and the CPU share.
int run_vl(const BenchOpts& o) {
  engine::VlBenchOptions vo;
  vo.config = o.config;
  vo.layers = o.layers > 0 ? o.layers : 2;
  vo.images = o.images;
  if (!o.sizes.empty()) {
    vo.sizes.clear();
    for (const auto& s : o.sizes) vo.sizes.push_back(parse_size(s));
  }
  vo.images_dir = o.images_dir;
  vo.reps = o.reps;
  if (o.chunk_given) vo.chunk = o.chunk;
  if (o.ubatch_given) vo.ubatch = o.ubatch;
  vo.cpu = o.cpu;
  vo.device = o.device;
  vo.seed = o.seed;
  const engine::VlBenchReport r = engine::run_vl_bench(vo);
  std::printf("device: %s\n", r.device_name.c_str());
  std::printf(
      "== vl: one image question end to end through the engine (raw requests: [%lld question ids, <image>, ...], "
      "one token sampled): ViT %lld layers x %lld + projector + packing, %lld text layers (%lld lightning + %lld "
      "softmax) x %lld, random %s weights (made in %.1f s: text %s, vision %s); prefill calls of %s, passes of %s; "
      "medians of %d reps\n",
      (long long)vo.text_before, (long long)r.vision_layers, (long long)r.vision_hidden, (long long)r.layers,
      (long long)r.lightning_layers, (long long)r.softmax_layers, (long long)r.text_hidden, r.precision.c_str(),
      r.make_s, engine::format_bytes(r.text_weight_bytes).c_str(), engine::format_bytes(r.vision_weight_bytes).c_str(),
      r.chunk > 0 ? fmt::format("{} positions", r.chunk).c_str() : "the whole prompt",
      r.ubatch > 0 ? fmt::format("{} positions", r.ubatch).c_str() : "the whole call", o.reps);
  for (const auto& row : r.rows) {
    const auto& s = row.staged;
    std::printf(
        "\n== %s: %lldx%lld px, %s file, grid %lldx%lld + thumbnail = %lld tiles, %lld image tokens + %lld text = "
        "%lld prompt positions in %lld prefill call%s\n",
        row.label.c_str(), (long long)row.width, (long long)row.height, engine::format_bytes(row.file_bytes).c_str(),
        (long long)row.grid_rows, (long long)row.grid_cols, (long long)row.tiles, (long long)row.image_tokens,
        (long long)row.text_tokens, (long long)row.prompt_tokens, (long long)row.prefill_calls,
        row.prefill_calls == 1 ? "" : "s");
    std::printf("%-34s %12s %10s\n", "stage (staged requests)", "median ms", "of TTFT");
    auto line = [&](const char* name, double ms) {
      std::printf("%-34s %12.3f %9.1f%%\n", name, ms, s.ttft > 0 ? 100.0 * ms / s.ttft : 0.0);
    };
    line("image decode", s.decode);
    line("preprocess (tiles + thumbnail)", s.preprocess);
    line("vit", s.vit);
    line("projector + pack", s.project);
    line("prefill", s.prefill);
    line("first token (sample + rest)", s.first_token);
    line("TTFT of the staged requests", s.ttft);
    std::string reps;
    for (double ms : row.ttft_reps) reps += fmt::format("{}{:.2f}", reps.empty() ? "" : " ", ms);
    std::printf("%-34s %12.3f  (plain requests: %s)\n", "TTFT", row.ttft_ms, reps.c_str());
    const double cpu_ms = s.decode + s.preprocess;
    const double share = row.ttft_ms > 0 ? 100.0 * cpu_ms / row.ttft_ms : 0.0;
    std::printf(
        "cpu share: decode + preprocess %.3f ms = %.1f%% of TTFT, %s; not overlapped with the ViT or prefill "
        "(a request decodes and preprocesses its images before it encodes them)\n",
        cpu_ms, share, share < 5.0 ? "under 5%" : "OVER 5%");
    std::printf(
        "result: label=%s ttft_ms=%.3f prompt_tokens=%lld image_tokens=%lld text_tokens=%lld tiles=%lld grid=%lldx%lld "
        "width=%lld height=%lld vit_ms=%.3f project_ms=%.3f prefill_ms=%.3f cpu_ms=%.3f file=%s\n",
        [&] {
          std::string l = row.label;
          std::replace(l.begin(), l.end(), ' ', '_');
          return l;
        }()
            .c_str(),
        row.ttft_ms, (long long)row.prompt_tokens, (long long)row.image_tokens, (long long)row.text_tokens,
        (long long)row.tiles, (long long)row.grid_rows, (long long)row.grid_cols, (long long)row.width,
        (long long)row.height, s.vit, s.project, s.prefill, cpu_ms, row.path.c_str());
  }
  return kExitOk;
}

// --path long: the table of chunk times, then memory and decode at the full context.
int run_long(const BenchOpts& o) {
  engine::LongBenchOptions lo;
  lo.config = o.config;
  lo.layers = o.layers > 0 ? o.layers : 8;
  lo.tokens = o.tokens;
  lo.chunk = o.chunk;
  lo.ubatch = o.ubatch;
  lo.decode_steps = o.decode_steps;
  lo.cpu = o.cpu;
  lo.device = o.device;
  lo.seed = o.seed;
  if (!o.quant.empty()) lo.quant = *llm::quant_scheme_from_name(o.quant);
  const engine::LongBenchReport r = engine::run_long_bench(lo);
  std::printf("device: %s\n", r.device_name.c_str());
  std::printf(
      "== long: %lld-token prompt through %lld layers (%lld lightning + %lld softmax), random %s weights "
      "(made in %.1f s), prefill calls of %lld positions (passes of %lld), through the engine\n",
      (long long)o.tokens, (long long)r.layers, (long long)r.lightning_layers, (long long)r.softmax_layers,
      o.quant.empty() ? (o.cpu ? "f32" : "bf16") : o.quant.c_str(), r.make_s, (long long)o.chunk,
      (long long)std::min(o.ubatch > 0 ? o.ubatch : o.chunk, o.chunk));
  std::printf("%-10s %-22s %12s %12s\n", "chunk", "positions", "ms", "tok/s");
  int64_t at = 0;
  for (size_t i = 0; i < r.chunk_ms.size(); ++i) {
    const int64_t n = std::min(o.chunk, o.tokens - at);
    std::printf("%-10zu %-22s %12.2f %12.0f\n", i, fmt::format("{}..{}", at, at + n).c_str(), r.chunk_ms[i],
                n / (r.chunk_ms[i] / 1e3));
    at += n;
  }
  double sum = 0;
  for (double ms : r.chunk_ms) sum += ms;
  std::printf("prefill total %.1f ms (%.0f tok/s; the request's prefill %.1f ms); first / last chunk %.2f / %.2f ms\n",
              sum, o.tokens / (sum / 1e3), r.prefill_ms, r.chunk_ms.empty() ? 0.0 : r.chunk_ms.front(),
              r.chunk_ms.empty() ? 0.0 : r.chunk_ms.back());
  std::string steps;
  for (double ms : r.decode_ms) steps += fmt::format("{}{:.3f}", steps.empty() ? "" : " ", ms);
  std::printf("decode at %lld context: median %.3f ms/token over %zu steps (%s); %s\n",
              (long long)o.tokens, r.decode_ms_median, r.decode_ms.size(), steps.c_str(), r.decode_report.c_str());
  std::printf("memory plan: weights %s + KV cache %s + lightning states %s + one pass ~%s\n",
              engine::format_bytes(r.weight_bytes).c_str(), engine::format_bytes(r.kv_bytes).c_str(),
              engine::format_bytes(r.lightning_bytes).c_str(), engine::format_bytes(r.activation_estimate).c_str());
  if (r.device_total_bytes > 0)
    std::printf("memory at the end: %s used of %s on the GPU (this process's pool and every other allocation)\n",
                engine::format_bytes(r.device_used_bytes).c_str(), engine::format_bytes(r.device_total_bytes).c_str());
  return kExitOk;
}

constexpr int kDefaultLayers = 8;  // 7 lightning + 1 softmax: one full period of the released stack
constexpr double kGB = 1e9;

#ifdef MVL_HAVE_CUDA
const engine::KernelBenchRow* find_row(const engine::KernelBenchReport& rep,
                                       const std::string& prefix, const std::string& suffix) {
  for (const auto& row : rep.rows)
    if (row.name.rfind(prefix, 0) == 0 && row.name.size() >= suffix.size() &&
        row.name.compare(row.name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return &row;
  return nullptr;
}

int run_bench(const BenchOpts& o, int64_t full_layers) {
  const int n_dev = ops::cuda_device_count();
  MVL_CHECK(
      n_dev > o.device, unsupported,
      "bench needs a CUDA GPU: {} (device {} requested, {} usable); run it on a machine with an "
      "NVIDIA GPU and driver",
      n_dev == 0 ? "none is usable here" : "no such device", o.device, n_dev);
  MVL_CHECK(n_dev >= o.device + o.tp, unsupported,
            "bench: --tp {} from GPU {} needs GPUs {} .. {}, but {} are usable here", o.tp,
            o.device, o.device, o.device + o.tp - 1, n_dev);
  const bool want_model = o.path != "kernels", want_kernels = o.path != "model";
  for (int r = 0; r < o.tp; ++r)
    std::printf("GPU %d: %s\n", o.device + r, ops::cuda_device_name(o.device + r).c_str());
  int64_t layers = o.layers > 0 ? o.layers : std::min<int64_t>(kDefaultLayers, full_layers);

  engine::KernelBenchReport rep;
  double copy_tbs = 0;
  const int64_t replica_layers = layers;
  if (want_kernels) {
    engine::KernelBenchOptions so;
    so.config_path = o.config;
    so.layers = static_cast<int>(layers);
    so.tokens = o.tokens;
    so.decode_batch = o.batch;
    so.reps = o.reps;
    so.lm_head = !o.no_lm_head;
    so.device = o.device;
    rep = engine::run_kernel_bench(so);
    copy_tbs = rep.copy_tbs;
    std::printf(
        "\n== kernels: layer-stack replica (kernels/cuda only; experts shared by all layers)\n");
    std::printf("measured copy %.2f TB/s, bf16 GEMM %.0f TFLOP/s\n", rep.copy_tbs, rep.gemm_tflops);
    std::printf("%-62s %12s %12s %8s\n", "what", "median ms", "floor ms", "x floor");
    for (const auto& r : rep.rows)
      std::printf("%-62s %12.3f %12.3f %8.2f  %s\n", r.name.c_str(), r.ms, r.floor_ms,
                  r.ms / r.floor_ms, r.note.c_str());
    if (!o.quant.empty() && o.quant != "bf16" && o.quant != "none") {
      std::printf(
          "\n== kernels: one MoE layer with quantized experts (kernels/cuda/quant_moe.cu; same "
          "bf16 weights quantized per format; floor = bytes read / copy rate, or GEMM FLOPs / "
          "bf16 GEMM rate)\n");
      for (const auto& r : engine::run_quant_moe_rows(o.config, o.tokens, std::max(o.reps, 20),
                                                      o.device, rep.copy_tbs, rep.gemm_tflops))
        std::printf("%-62s %12.3f %12.3f %8.2f  %s\n", r.name.c_str(), r.ms, r.floor_ms,
                    r.ms / r.floor_ms, r.note.c_str());
    }
  }
  if (!want_model) return kExitOk;

  const llm::QuantScheme quant =
      o.quant.empty() ? llm::QuantScheme::none : *llm::quant_scheme_from_name(o.quant);
  const engine::ModelBenchFit f =
      engine::model_bench_fit(o.config, o.tokens, o.device, quant, o.tp);
  const double free_b = static_cast<double>(f.free_bytes), per_layer = f.per_layer_bytes,
               globals = f.global_bytes;
  const int64_t fit = f.layers_that_fit;
  std::printf(
      "\n== model: the engine's raw requests over llm::TextModel with random %s weights (the road of "
      "ask/chat/generate: sampling on the GPU, the id read back each step)\n",
      llm::quant_scheme_name(quant));
  std::printf(
      "memory: %.1f GB free of %.1f GB%s; %.2f GB per layer + %.2f GB embedding/LM head -> %lld "
      "layers fit\n",
      free_b / kGB, f.total_bytes / kGB,
      o.tp > 1 ? (" on GPU " + std::to_string(o.device) + ", times " + std::to_string(o.tp) + " GPUs").c_str() : "",
      per_layer / kGB, globals / kGB, static_cast<long long>(fit));
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
  if (copy_tbs == 0)  // --path model: the copy rate for the floor, measured here
    copy_tbs = engine::measure_copy_tbs(o.device);
  engine::ModelBenchOptions mo;
  mo.config = o.config;
  mo.layers = layers;
  mo.tokens = o.tokens;
  mo.decode_steps = o.decode_steps;
  mo.reps = o.reps;
  mo.device = o.device;
  mo.seed = o.seed;
  mo.quant = quant;
  mo.batch = static_cast<int>(o.batch);
  mo.tp = o.tp;
  if (!o.rank_moe.empty())
    mo.rank_moe = o.rank_moe == "kernels" ? llm::RankMoe::kernels : llm::RankMoe::generic;
  if (mo.rank_moe && o.tp == 1)
    std::printf(
        "sharded path at tp 1 (--rank-moe %s): llm::ShardedTextModel on one GPU with the MoE "
        "each rank of --tp N runs (expert-range %s)\n",
        o.rank_moe.c_str(),
        o.rank_moe == "kernels" ? "quantized MoE kernels" : "generic f32 path, experts dequantized per call");
  if (o.tp > 1)
    std::printf(
        "tensor parallel: %d ranks (llm::ShardedTextModel over NCCL; each rank makes the random "
        "tensors it needs and keeps its slices; no CUDA graphs on this path yet, so both decode "
        "rows run op by op)\n",
        o.tp);
  const engine::ModelBenchReport m = engine::run_model_bench(mo);
  std::printf(
      "%lld layers (%.1f GB of weights, made on the GPU in %.1f s), prompt %lld tokens, %d decode "
      "steps x %d reps\n",
      static_cast<long long>(m.layers), m.weight_gb, m.make_s, static_cast<long long>(o.tokens),
      o.decode_steps, o.reps);
  std::printf("%-44s %12s %12s\n", "what", "median ms", "tok/s");
  std::printf("%-44s %12.3f %12.0f\n", ("prefill T=" + std::to_string(o.tokens)).c_str(),
              m.prefill_ms, o.tokens / (m.prefill_ms / 1e3));
  std::printf("%-44s %12.3f %12.1f\n", "decode step, CUDA graph (per token, host)", m.graph_ms,
              1e3 / m.graph_ms);
  std::printf("%-44s %12.3f %12.1f\n", "decode step, op by op (per token, host)", m.eager_ms,
              1e3 / m.eager_ms);
  std::printf("graph stats (a graphed request): %s\n", m.graph_report.c_str());
  if (m.batch > 1) {
    std::printf(
        "\n== model, %d concurrent requests continuously batched by the engine (one "
        "decode_batch per step), per way of running the per-sequence attention\n",
        m.batch);
    std::printf("%-44s %12s %12s %12s %10s %8s %6s\n", "what", "step ms", "tok/s/seq", "tok/s all",
                "x B=1", "mean B", "max B");
    std::printf("%-44s %12.3f %12.1f %12.1f %10.2f %8.1f %6d\n", "decode B=1 (CUDA graph, above)", m.graph_ms,
                1e3 / m.graph_ms, 1e3 / m.graph_ms, 1.0, 1.0, 1);
    for (const auto& row : m.batch_rows)
      std::printf("%-44s %12.3f %12.1f %12.1f %10.2f %8.1f %6lld\n",
                  ("decode B=" + std::to_string(m.batch) + " (" + row.mode + ")").c_str(), row.step_ms,
                  row.seq_tok_s, row.agg_tok_s, row.agg_tok_s / (1e3 / m.graph_ms), row.mean_b,
                  static_cast<long long>(row.max_batch));
    if (copy_tbs > 0 && !m.batch_rows.empty()) {
      const double floor_ms = m.batch_step_bytes / (copy_tbs * 1e12) * 1e3;
      std::printf(
          "batched bytes floor: %.2f GB per step of %d sequences / %.2f TB/s = %.3f ms; %s step = "
          "%.2fx floor\n",
          m.batch_step_bytes / kGB, m.batch, copy_tbs, floor_ms, m.batch_rows.back().mode.c_str(),
          m.batch_rows.back().step_ms / floor_ms);
    }
  }
  if (copy_tbs > 0) {
    const double floor_ms = m.step_bytes / (copy_tbs * 1e12) * 1e3;
    std::printf(
        "decode bytes floor: %.2f GB read per token%s / %.2f TB/s copy rate = %.3f ms; graph step = "
        "%.2fx floor\n",
        m.step_bytes / kGB, m.tp > 1 ? " per GPU" : "", copy_tbs, floor_ms, m.graph_ms / floor_ms);
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
      "  minimax-vl bench --random-weights --path model --tp 8 --layers 80   all 80 layers, 8 GPUs\n"
      "  minimax-vl bench --random-weights --path vl --layers 2   an image question end to end, per stage\n"
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
                  "What to time: model (TextModel), kernels (the replica), both, long (a long "
                  "prompt in timed --chunk prefill calls, then decode at that context), or vl (one image "
                  "question end to end, per stage)")
      ->check(CLI::IsMember({"model", "kernels", "both", "long", "vl"}))
      ->capture_default_str();
  sub->add_option(
         "--batch", o->batch,
         "Sequences per decode step: the replica's; the model path also runs B concurrent requests "
         "through the engine's continuous batching (1-64)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  sub->add_flag("--no-lm-head", o->no_lm_head,
                "Leave the final norm + LM head + argmax out of the replica's decode step");
  sub->add_option("--quant", o->quant,
                  "Weight format: the model section makes its weights in this scheme (quantized "
                  "on the GPU; the floor counts the quantized bytes); the kernels section adds the "
                  "MoE-layer rows of every format (decode n=1 vs bytes floor, prefill vs bf16)")
      ->type_name("FORMAT")
      ->check(
          CLI::IsMember({"bf16", "none", "int8", "int8-experts", "fp8-experts", "int4-experts"}));
  add_seed_flag(*sub, o->seed, "Seed of the random weights");
  CLI::Option* chunk_opt =
      sub->add_option("--chunk", o->chunk,
                      "--path long: prompt positions per timed prefill call; --path vl: per prefill call "
                      "(default: ask's, 512; 0 = the whole prompt in one call)")
          ->check(CLI::Range(int64_t{0}, int64_t{1} << 22))
          ->capture_default_str();
  CLI::Option* ubatch_opt =
      sub->add_option("--ubatch-size", o->ubatch,
                      "--path long and vl: positions per pass through the layers inside a call (bounds "
                      "the activations; 0 = the whole call; vl default: ask's, 8192)")
          ->check(CLI::Range(int64_t{0}, int64_t{1} << 22))
          ->capture_default_str();
  sub->add_option("--image,-i", o->images,
                  "--path vl: an image file to ask about (repeatable); default: a generated 2016x2016 "
                  "page and 1000x1400 scan")
      ->check(CLI::ExistingFile);
  sub->add_option("--size", o->sizes,
                  "--path vl: generate images of WIDTHxHEIGHT px instead (repeatable; the first is a page, "
                  "the others scans)")
      ->type_name("WxH");
  sub->add_option("--images-dir", o->images_dir,
                  "--path vl: write the generated PNGs into this directory and keep them (default: a "
                  "temp dir, removed)");
  sub->add_option("--tp", o->tp,
                  "Tensor-parallel GPUs for --path model: the text model split over GPUs --device "
                  ".. --device + N - 1 (attention heads, experts and vocabulary rows; "
                  "docs/parallel.md), so the released-size layers fit N times the memory")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  sub->add_option("--rank-moe", o->rank_moe,
                  "--path model through the sharded model (llm::ShardedTextModel, also at --tp 1) "
                  "with this per-rank MoE for quantized experts: kernels (the one-GPU quantized MoE "
                  "kernels on the rank's experts) or generic (f32, each expert dequantized per "
                  "call); default: the sharded path's own choice at --tp > 1, TextModel at --tp 1")
      ->check(CLI::IsMember({"kernels", "generic"}));
  add_device_flag(*sub, o->device_flag, "The GPU: cuda or cuda:N (bench needs a CUDA GPU)");
  sub->callback([o, &run, chunk_opt, ubatch_opt] {
    run = [o, chunk_opt, ubatch_opt]() -> int {
      const Device dev = parse_device_flag(o->device_flag);
      MVL_CHECK(dev.is_cuda() || o->path == "long" || o->path == "vl", invalid_argument,
                "bench times the GPU: pass --device cuda or cuda:N, not '{}' (only --path long and vl "
                "run on the CPU)",
                o->device_flag);
      o->chunk_given = chunk_opt->count() > 0;
      o->ubatch_given = ubatch_opt->count() > 0;
      o->device = dev.index;
      o->cpu = !dev.is_cuda();
      if (!o->random_weights)
        throw_error(
            ErrorCategory::invalid_argument,
            "bench needs --random-weights (benchmarks on a real checkpoint are not supported yet)");
      MVL_CHECK(o->tp == 1 || o->path == "model", invalid_argument,
                "bench: --tp {} times the sharded model path; pass --path model (the kernel "
                "replica runs on one GPU)",
                o->tp);
      MVL_CHECK(o->rank_moe.empty() || o->path == "model", invalid_argument,
                "bench: --rank-moe belongs to --path model");
      MVL_CHECK(o->tp == 1 || o->batch == 1, invalid_argument,
                "bench: --batch with --tp is not wired yet (batched decode runs on one GPU)");
      const int64_t full_layers =
          input_phase([&] { return engine::bench_config_layers(o->config); });
      MVL_CHECK(o->layers <= full_layers, invalid_argument,
                "bench: --layers {} exceeds the {} layers of {}", o->layers, full_layers, o->config);
      MVL_CHECK(o->path == "vl" || (o->images.empty() && o->sizes.empty() && o->images_dir.empty()),
                invalid_argument, "bench: --image, --size and --images-dir belong to --path vl");
      if (o->path == "long") {
        MVL_CHECK(o->tp == 1 && o->batch == 1, invalid_argument,
                  "bench --path long runs one sequence on one device: drop --tp and --batch");
        MVL_CHECK(o->cpu || ops::cuda_device_count() > o->device, unsupported,
                  "bench --path long on GPU {}: no such usable GPU here; pass --device cpu for a "
                  "small run on the CPU",
                  o->device);
        return run_long(*o);
      }
      if (o->path == "vl") {
        MVL_CHECK(o->tp == 1 && o->batch == 1 && o->quant.empty(), invalid_argument,
                  "bench --path vl runs one request at a time on one device with bf16 weights: drop --tp, "
                  "--batch and --quant");
        MVL_CHECK(o->images.empty() || o->sizes.empty(), invalid_argument,
                  "bench --path vl: pass --image files or --size WxH, not both");
        MVL_CHECK(o->cpu || ops::cuda_device_count() > o->device, unsupported,
                  "bench --path vl on GPU {}: no such usable GPU here; pass --device cpu for a small run on "
                  "the CPU",
                  o->device);
        return run_vl(*o);
      }
#ifdef MVL_HAVE_CUDA
      return run_bench(*o, full_layers);
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
