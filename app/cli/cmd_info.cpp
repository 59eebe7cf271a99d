// `minimax-vl info`: what a checkpoint is (architecture, parameter counts), whether its
// tensors match the config (naming every missing / unexpected / wrong-shape / wrong-dtype
// tensor), bytes per dtype, and the memory per device of a `--gpus N` plan (with --quant: in
// that format, plus which GPU counts of which cards fit each format). Text or --json.
// Exits 3 when the inventory check fails, after printing the full report.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "app/cli/command.h"
#include "app/cli/flags.h"
#include "app/engine/loading/memory_fit.h"
#include "app/engine/inspect/memory_plan.h"
#include "app/engine/loading/model_config.h"
#include "app/engine/inspect/tensor_inventory.h"
#include "kernels/core/safetensors.h"

namespace mvl::cli {

namespace {

namespace fs = std::filesystem;
using engine::InventoryReport;
using json::Json;

constexpr size_t kListLimit = 20;  // per problem kind in text mode; --json lists all

std::string count_str(int64_t n) {
  const double v = static_cast<double>(n);
  if (n >= 1'000'000'000) return fmt::format("{:.2f} B", v / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.1f} M", v / 1e6);
  if (n >= 10'000) return fmt::format("{:.1f} K", v / 1e3);
  return std::to_string(n);
}

// True when `dir` holds weights Checkpoint::open would find (else: config-only info).
bool has_weights(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".safetensors" || e.path().filename() == "model.safetensors.index.json") return true;
  return false;
}

Json shape_json(const Shape& s) { return Json(s); }

struct Info {
  std::string dir;
  engine::ModelConfig cfg;
  bool weights = false;
  size_t files = 0;
  InventoryReport inv;
  engine::ParamCounts params;
  engine::MemoryPlan plan;
  bool quant = false;  // --quant given: the plan is in that format and the fit table is shown
  std::vector<engine::FitRow> fits;
};

std::string counts_str(const std::vector<int>& v) {
  if (v.empty()) return "none";
  std::string r;
  for (int n : v) r += (r.empty() ? "" : ",") + std::to_string(n);
  return r;
}

Json to_json(const Info& in) {
  const auto& c = in.cfg;
  const auto& t = c.text;
  Json j;
  j["model"] = in.dir;
  j["architecture"] = c.architecture;
  j["config_layout"] = engine::layout_name(c.layout);
  j["text"] = {{"layers", t.num_hidden_layers},
               {"lightning_layers", t.num_lightning_layers()},
               {"softmax_layers", t.num_softmax_layers()},
               {"hidden_size", t.hidden_size},
               {"heads", t.num_attention_heads},
               {"kv_heads", t.num_key_value_heads},
               {"head_dim", t.head_dim},
               {"rotary_dim", t.rotary_dim},
               {"rope_theta", t.rope_theta},
               {"experts", t.num_local_experts},
               {"experts_per_token", t.num_experts_per_tok},
               {"expert_intermediate_size", t.intermediate_size},
               {"vocab_size", t.vocab_size},
               {"block_size", t.block_size},
               {"eos_token_id", t.eos_token_id ? Json(*t.eos_token_id) : Json(nullptr)}};
  if (c.has_vision) {
    const auto& v = c.vision;
    j["vision"] = {{"layers", v.num_hidden_layers},       {"hidden_size", v.hidden_size},
                   {"heads", v.num_attention_heads},       {"intermediate_size", v.intermediate_size},
                   {"image_size", v.image_size},           {"patch_size", v.patch_size},
                   {"hidden_act", v.hidden_act},           {"image_token_index", c.image_token_index},
                   {"feature_layer", c.vision_feature_layer}, {"pinpoints", c.preprocess.pinpoints.size()}};
  }
  const auto& p = in.params;
  j["parameters"] = {{"total", p.total},         {"text", p.text},       {"vision", p.vision},
                     {"projector", p.projector}, {"embedding", p.embedding}, {"experts", p.experts},
                     {"active", p.active},       {"active_with_embedding", p.active_with_embedding}};
  if (in.weights) {
    const auto& r = in.inv;
    Json inv;
    inv["layout"] = engine::layout_name(r.layout);
    inv["files"] = in.files;
    inv["expected"] = r.expected;
    inv["found"] = r.found;
    inv["ok"] = r.ok();
    inv["missing"] = Json::array();
    for (const auto& m : r.missing) inv["missing"].push_back({{"name", m.name}, {"shape", shape_json(m.shape)}});
    auto found_list = [](const std::vector<InventoryReport::Found>& v) {
      Json a = Json::array();
      for (const auto& f : v) a.push_back({{"name", f.name}, {"dtype", dtype_name(f.dtype)}, {"shape", shape_json(f.shape)}});
      return a;
    };
    inv["unexpected"] = found_list(r.unexpected);
    inv["ignored"] = found_list(r.ignored);
    inv["wrong_dtype"] = found_list(r.wrong_dtype);
    inv["wrong_shape"] = Json::array();
    for (const auto& w : r.wrong_shape)
      inv["wrong_shape"].push_back(
          {{"name", w.name}, {"expected", shape_json(w.expected)}, {"actual", shape_json(w.actual)}});
    j["inventory"] = inv;
    Json d = Json::object();
    for (const auto& [dt, b] : r.by_dtype) d[dtype_name(dt)] = {{"tensors", b.tensors}, {"bytes", b.bytes}};
    j["dtypes"] = d;
  } else {
    j["inventory"] = nullptr;
  }
  const auto& pl = in.plan;
  Json devs = Json::array();
  for (const auto& d : pl.devices)
    devs.push_back({{"rank", d.rank},
                    {"weights", d.weights},
                    {"kv_cache", d.kv_cache},
                    {"lightning_state", d.lightning_state},
                    {"prefill_activations", d.activations},
                    {"total", d.total()}});
  j["memory_plan"] = {{"gpus", pl.options.gpus},
                      {"context_tokens", pl.options.context_tokens},
                      {"sequences", pl.options.sequences},
                      {"heads_per_device", pl.heads_per_device},
                      {"kv_heads_per_device", pl.kv_heads_per_device},
                      {"experts_per_device", pl.experts_per_device},
                      {"kv_bytes_per_token", pl.kv_bytes_per_token},
                      {"lightning_bytes_per_sequence", pl.lightning_bytes_per_sequence},
                      {"quant", llm::quant_scheme_name(pl.options.quant)},
                      {"text_layers", pl.options.layers > 0 ? pl.options.layers : t.num_hidden_layers},
                      {"prefill_chunk", pl.options.prefill_chunk},
                      {"device_bytes", pl.options.device_bytes},
                      {"max_context", pl.options.device_bytes > 0 ? Json(pl.max_context) : Json(nullptr)},
                      {"devices", devs}};
  if (in.quant) {
    Json f = Json::array();
    for (const auto& r : in.fits) {
      Json per = Json::object(), fit = Json::object();
      for (size_t i = 0; i < r.gpu_counts.size(); ++i)
        per[std::to_string(r.gpu_counts[i])] = r.per_gpu[i];
      for (size_t c = 0; c < engine::gpu_cards().size(); ++c)
        fit[engine::gpu_cards()[c].name] = r.fit[c];
      f.push_back({{"quant", llm::quant_scheme_name(r.quant)},
                   {"context_tokens", r.context_tokens},
                   {"per_gpu_bytes", per},
                   {"fits", fit}});
    }
    j["fits"] = {{"reserve_bytes", engine::kFitReserve}, {"rows", f}};
  }
  return j;
}

void print_text(const Info& in) {
  const auto& c = in.cfg;
  const auto& t = c.text;
  std::printf("model        %s\n", in.dir.c_str());
  std::printf("architecture %s (config: %s layout)\n", c.architecture.c_str(), engine::layout_name(c.layout));
  std::printf("text         MiniMax-Text-01: %lld layers (%lld lightning + %lld softmax), hidden %lld, vocab %lld\n",
              (long long)t.num_hidden_layers, (long long)t.num_lightning_layers(), (long long)t.num_softmax_layers(),
              (long long)t.hidden_size, (long long)t.vocab_size);
  std::printf("  attention  %lld heads x %lld, %lld KV heads (softmax), RoPE on %lld of %lld dims, theta %g, "
              "lightning block %lld\n",
              (long long)t.num_attention_heads, (long long)t.head_dim, (long long)t.num_key_value_heads,
              (long long)t.rotary_dim, (long long)t.head_dim, t.rope_theta, (long long)t.block_size);
  std::printf("  moe        %lld experts, top-%lld, expert FFN %lld, %s\n", (long long)t.num_local_experts,
              (long long)t.num_experts_per_tok, (long long)t.intermediate_size, t.hidden_act.c_str());
  std::printf("  residual   postnorm, alpha %.4f/%.4f/%.4f (softmax/lightning/mlp), beta %g/%g/%g\n",
              t.full_attn_alpha, t.linear_attn_alpha, t.mlp_alpha, t.full_attn_beta, t.linear_attn_beta, t.mlp_beta);
  if (t.eos_token_id) std::printf("  eos        %lld\n", (long long)*t.eos_token_id);
  else std::printf("  eos        not set (config and generation_config.json leave it null)\n");
  if (c.has_vision) {
    const auto& v = c.vision;
    std::printf("vision       CLIP ViT: %lld layers, hidden %lld, %lld heads, FFN %lld, %s, %lld px / patch %lld "
                "(%lld tokens)\n",
                (long long)v.num_hidden_layers, (long long)v.hidden_size, (long long)v.num_attention_heads,
                (long long)v.intermediate_size, v.hidden_act.c_str(), (long long)v.image_size,
                (long long)v.patch_size, (long long)v.num_positions());
    std::printf("projector    %lld -> %lld -> %lld (%s); image token %lld; feature layer %lld, strategy %s\n",
                (long long)v.hidden_size, (long long)t.hidden_size, (long long)t.hidden_size,
                c.projector_hidden_act.c_str(), (long long)c.image_token_index, (long long)c.vision_feature_layer,
                c.vision_feature_select_strategy.c_str());
    std::printf("processor    %s, %lld-px tiles, %zu pinpoints\n", c.preprocess.mode.c_str(),
                (long long)c.preprocess.tile_size, c.preprocess.pinpoints.size());
  } else {
    std::printf("vision       none (text-only checkpoint)\n");
  }
  const auto& p = in.params;
  std::printf("parameters   total %s = text %s + vision %s + projector %s\n", count_str(p.total).c_str(),
              count_str(p.text).c_str(), count_str(p.vision).c_str(), count_str(p.projector).c_str());
  std::printf("             active per token %s (text, excluding embedding and LM head; %s with them)\n",
              count_str(p.active).c_str(), count_str(p.active_with_embedding).c_str());
  if (!in.weights) {
    std::printf("weights      none found (config only): inventory check skipped\n");
  } else {
    const auto& r = in.inv;
    uint64_t total = 0;
    for (const auto& [_, b] : r.by_dtype) total += b.bytes;
    std::printf("weights      %zu file%s, %zu tensors, %s (%s layout)\n", in.files, in.files == 1 ? "" : "s", r.found,
                engine::format_bytes(total).c_str(), engine::layout_name(r.layout));
    for (const auto& [dt, b] : r.by_dtype)
      std::printf("  %-10s %s in %lld tensors\n", dtype_name(dt), engine::format_bytes(b.bytes).c_str(),
                  (long long)b.tensors);
    std::printf("inventory    %zu expected, %zu found: %s (%zu missing, %zu unexpected, %zu wrong shape, %zu wrong "
                "dtype)\n",
                r.expected, r.found, r.ok() ? "OK" : "PROBLEMS", r.missing.size(), r.unexpected.size(),
                r.wrong_shape.size(), r.wrong_dtype.size());
    auto more = [](size_t n) {
      if (n > kListLimit) std::printf("  ... and %zu more (--json lists all)\n", n - kListLimit);
    };
    for (size_t i = 0; i < r.missing.size() && i < kListLimit; ++i)
      std::printf("  missing      %s %s\n", r.missing[i].name.c_str(), shape_str(r.missing[i].shape).c_str());
    more(r.missing.size());
    for (size_t i = 0; i < r.unexpected.size() && i < kListLimit; ++i)
      std::printf("  unexpected   %s %s %s\n", r.unexpected[i].name.c_str(), dtype_name(r.unexpected[i].dtype),
                  shape_str(r.unexpected[i].shape).c_str());
    more(r.unexpected.size());
    for (size_t i = 0; i < r.wrong_shape.size() && i < kListLimit; ++i)
      std::printf("  wrong shape  %s: expected %s, found %s\n", r.wrong_shape[i].name.c_str(),
                  shape_str(r.wrong_shape[i].expected).c_str(), shape_str(r.wrong_shape[i].actual).c_str());
    more(r.wrong_shape.size());
    for (size_t i = 0; i < r.wrong_dtype.size() && i < kListLimit; ++i)
      std::printf("  wrong dtype  %s is %s; expected bf16, f16 or f32\n", r.wrong_dtype[i].name.c_str(),
                  dtype_name(r.wrong_dtype[i].dtype));
    more(r.wrong_dtype.size());
    if (!r.ignored.empty()) std::printf("  ignored      %zu known unused tensors (e.g. %s)\n", r.ignored.size(),
                                        r.ignored.front().name.c_str());
  }
  const auto& pl = in.plan;
  std::printf(
      "memory plan  --tp %d, %lld-token context x %lld sequence%s, weights %s (TP over heads, EP "
      "over experts)%s\n",
      pl.options.gpus, (long long)pl.options.context_tokens, (long long)pl.options.sequences,
      pl.options.sequences == 1 ? "" : "s", llm::quant_scheme_name(pl.options.quant),
      pl.options.layers > 0
          ? fmt::format("; the first {} text layers only ({} lightning + {} softmax), no vision half",
                        pl.options.layers,
                        pl.options.layers - std::count(t.layer_types.begin(), t.layer_types.begin() + pl.options.layers,
                                                       llm::AttnKind::softmax),
                        std::count(t.layer_types.begin(), t.layer_types.begin() + pl.options.layers,
                                   llm::AttnKind::softmax))
                .c_str()
          : "");
  std::printf("  per gpu    %lld of %lld heads, %lld of %lld KV heads, %lld of %lld experts; KV cache %s/token, "
              "lightning state %s/sequence\n",
              (long long)pl.heads_per_device, (long long)t.num_attention_heads, (long long)pl.kv_heads_per_device,
              (long long)t.num_key_value_heads, (long long)pl.experts_per_device, (long long)t.num_local_experts,
              engine::format_bytes(pl.kv_bytes_per_token).c_str(),
              engine::format_bytes(pl.lightning_bytes_per_sequence).c_str());
  // Ranks with identical figures are collapsed into one line ("gpu 1-7").
  for (size_t i = 0; i < pl.devices.size();) {
    size_t k = i + 1;
    const auto& d = pl.devices[i];
    while (k < pl.devices.size() && pl.devices[k].weights == d.weights && pl.devices[k].total() == d.total()) ++k;
    const std::string ranks = k - i == 1 ? fmt::format("gpu {}", i) : fmt::format("gpu {}-{}", i, k - 1);
    std::printf("  %-10s weights %s + KV cache %s + lightning state %s = %s", ranks.c_str(),
                engine::format_bytes(d.weights).c_str(), engine::format_bytes(d.kv_cache).c_str(),
                engine::format_bytes(d.lightning_state).c_str(), engine::format_bytes(d.total()).c_str());
    if (pl.options.prefill_chunk > 0)
      std::printf(" (+ %s of activations for a %lld-token prefill pass = %s)",
                  engine::format_bytes(d.activations).c_str(), (long long)pl.options.prefill_chunk,
                  engine::format_bytes(d.total() + d.activations).c_str());
    std::printf("\n");
    i = k;
  }
  if (pl.options.device_bytes > 0) {
    if (pl.max_context > 0)
      std::printf("  max context %lld tokens per sequence fit %s per device (weights, lightning state, one "
                  "prefill pass and %s left for the CUDA context and workspaces; KV %s/token)\n",
                  (long long)pl.max_context, engine::format_bytes(pl.options.device_bytes).c_str(),
                  engine::format_bytes(engine::kFitReserve).c_str(),
                  engine::format_bytes(pl.kv_bytes_per_token).c_str());
    else
      std::printf("  max context none: the weights, lightning state and one prefill pass alone exceed %s "
                  "(less %s reserve); use more GPUs (--tp), fewer layers or a smaller --ubatch-size\n",
                  engine::format_bytes(pl.options.device_bytes).c_str(),
                  engine::format_bytes(engine::kFitReserve).c_str());
  }
  if (!in.quant) return;
  std::string head;
  for (int n : in.fits.front().gpu_counts) head += (head.empty() ? "" : " / ") + std::to_string(n);
  std::printf(
      "fits         largest per-GPU total at %s GPUs, 1 sequence; a card fits when %s of it is "
      "left for "
      "the CUDA context, workspaces and activations\n",
      head.c_str(), engine::format_bytes(engine::kFitReserve).c_str());
  for (const auto& r : in.fits) {
    std::string per;
    for (uint64_t b : r.per_gpu)
      per += (per.empty() ? "" : " / ") + fmt::format("{:.1f}", b / double(1u << 30));
    std::string fit;
    for (size_t c = 0; c < engine::gpu_cards().size(); ++c)
      fit += fmt::format("  {}: {}", engine::gpu_cards()[c].name, counts_str(r.fit[c]));
    std::printf("  %-13s %-4s %s GiB%s\n", llm::quant_scheme_name(r.quant),
                engine::context_label(r.context_tokens).c_str(), per.c_str(), fit.c_str());
  }
}

}  // namespace

void add_info_command(CLI::App& app, RunFn& run) {
  struct Opts {
    std::string model = default_model_dir();
    int gpus = 1;
    int64_t context = 8192;
    int64_t sequences = 1;
    bool json = false;
    std::string quant;
    int64_t layers = 0;
    int64_t ubatch = 8192;
    double device_gib = 0;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "info",
      "Describe a checkpoint: architecture, parameter counts (total and active per token), a check "
      "of\n"
      "every tensor name/shape/dtype against the config, bytes per dtype, and the memory per GPU "
      "of a\n"
      "--tp N plan (tensor-parallel ranks, placed as `logits --tp N` places them; --gpus N is the "
      "same\n"
      "flag). Works on the released (remote-code) and the transformers-native layout; -m may\n"
      "also be a bare config .json (e.g. configs/minimax-vl-01.json) for a shape-only plan.\n"
      "Exits 3 if tensors are missing, unexpected or of the wrong shape or dtype.\n"
      "Examples:\n"
      "  minimax-vl info\n"
      "  minimax-vl info -m /models/MiniMax-VL-01 --tp 8 -c 32768\n"
      "  minimax-vl info -m configs/minimax-vl-01.json --tp 8 --json\n"
      "  minimax-vl info -m configs/minimax-vl-01.json --gpus 8 --quant int8\n"
      "  minimax-vl info -m configs/minimax-vl-01.json --layers 8 -c 1048576 --device-memory 79.6");
  add_model_flag(*cmd, o->model, "Checkpoint directory or config .json")->capture_default_str();
  cmd->add_option("--tp,--gpus", o->gpus,
                  "Tensor-parallel ranks (GPUs) of the memory plan, as `logits --tp` places them (must "
                  "split the heads, KV heads and experts)")
      ->capture_default_str();
  add_ctx_size_flag(*cmd, o->context, "Tokens of KV cache per sequence in the memory plan");
  cmd->add_option("--sequences", o->sequences, "Concurrent sequences in the memory plan")->capture_default_str();
  cmd->add_option(
      "--quant", o->quant,
      "Plan the weights in this format (" + llm::quant_scheme_choices() +
          ": int8 = every linear but embed_tokens, lm_head, routers and the vision half) and "
          "show which GPU counts of H100-80GB / H200-141GB fit each format at 8K, 64K, 1M context");
  cmd->add_option("--layers", o->layers,
                  "Plan only the first N text layers, without the vision half (the slice `bench "
                  "--path long --layers N` runs)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--ubatch-size", o->ubatch,
                  "Prompt positions per prefill pass whose activations the plan counts (0 = none)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--device-memory", o->device_gib,
                  "GiB of memory per GPU (e.g. 79.6 for an H100-80GB): the plan then says the "
                  "longest context that fits")
      ->check(CLI::NonNegativeNumber);
  add_json_flag(*cmd, o->json, "Print one JSON object instead of text");
  cmd->callback([o, &run] {
    run = [o] {
      Info in;
      in.dir = o->model;
      load_phase([&] {
        in.cfg = engine::ModelConfig::load_dir(o->model);
        in.weights = has_weights(o->model);
        if (in.weights) {
          const Checkpoint ck = Checkpoint::open(o->model);
          in.files = ck.files().size();
          in.inv = engine::check_inventory(in.cfg, ck);
        }
      });
      in.params = engine::count_params(in.cfg);
      engine::MemoryPlanOptions mo;
      mo.gpus = o->gpus;
      mo.context_tokens = o->context;
      mo.sequences = o->sequences;
      mo.layers = o->layers;
      mo.prefill_chunk = o->ubatch;
      mo.device_bytes = static_cast<uint64_t>(o->device_gib * double(uint64_t{1} << 30));
      if (!o->quant.empty()) {
        const auto q = llm::quant_scheme_from_name(o->quant);
        if (!q)
          throw PhaseError(kExitUsage,
                           Error(ErrorCategory::invalid_argument,
                                 fmt::format("--quant {}: unknown format; use one of {}", o->quant,
                                             llm::quant_scheme_choices())));
        mo.quant = *q;
        in.quant = true;
        in.fits = engine::fit_table(in.cfg);
      }
      in.plan = engine::plan_memory(in.cfg, mo, in.inv.dtypes);
      if (o->json) std::printf("%s\n", to_json(in).dump(2).c_str());
      else print_text(in);
      std::fflush(stdout);
      if (in.weights && !in.inv.ok()) {
        const auto& r = in.inv;
        throw PhaseError(kExitLoad,
                         Error(ErrorCategory::bad_format,
                               fmt::format("checkpoint '{}' does not match its config: {} missing, {} unexpected, {} "
                                           "wrong shape, {} wrong dtype (listed above)",
                                           o->model, r.missing.size(), r.unexpected.size(), r.wrong_shape.size(),
                                           r.wrong_dtype.size())));
      }
      return kExitOk;
    };
  });
}

}  // namespace mvl::cli
