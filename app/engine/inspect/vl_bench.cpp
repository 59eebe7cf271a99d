// `bench --path vl` (vl_bench.h). The text slice is made on the device by
// load_random_text_model (llm::TextModel::random); the vision half has no random constructor, so
// its tensors (released names, bf16, ~0.6 GB at the released shapes) are written once to a temp
// safetensors file and loaded by load_vision_encoder, exactly as a checkpoint's are. Both go into
// one LoadedModel and one Engine; every request is a raw one through it (the road `ask` takes:
// decode + preprocess on the runner, the ViT, chunked prefill, the sampler on the device). Plain
// and staged requests alternate: the plain ones give the TTFT a user sees, the staged ones
// (RawPrompt::time_stages + time_chunks) wait for the device after the ViT, after the projector
// and after each prefill call so each stage has its own time.
#include "app/engine/inspect/vl_bench.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "app/engine/core/engine.h"
#include "app/engine/inspect/memory_plan.h"
#include "app/engine/inspect/synthetic_image.h"
#include "app/engine/loading/checkpoint.h"
#include "app/engine/loading/checkpoint_layout.h"
#include "app/engine/loading/memory_fit.h"
#include "app/engine/loading/model_config.h"
#include "kernels/core/safetensors.h"
#include "kernels/ops/device.h"
#include "kernels/ops/precision.h"
#include "llm/weights/random_weights.h"
#include "vision/model/tensor_table.h"

namespace mvl::engine {
namespace fs = std::filesystem;
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// A vision tensor's random values: the make-tiny rules (tiny_model.cpp) with a uniform draw of
// the same mean and std (fast at 300M values): linear weights std 1/sqrt(fan_in), LayerNorm
// weights 1 +- 0.05, biases 0.02, class/position embeddings 0.1, image_newline 1.
Tensor random_vision_tensor(const vision::VisionTensor& t, uint64_t seed) {
  double mean = 0, std = 1;
  if (t.role == vision::VisionRole::image_newline) {
    std = 1;
  } else if (t.bias) {
    std = 0.02;
  } else if (t.role == vision::VisionRole::class_embedding || t.role == vision::VisionRole::position_embedding) {
    std = 0.1;
  } else if (t.shape.size() == 1) {
    mean = 1, std = 0.05;
  } else {
    int64_t fan_in = 1;
    for (size_t i = 1; i < t.shape.size(); ++i) fan_in *= t.shape[i];
    std = 1.0 / std::sqrt(static_cast<double>(fan_in));
  }
  const double half = std * std::sqrt(3.0);  // uniform [-half, half] has this std
  Tensor out = Tensor::empty(t.shape, DType::bf16);
  uint16_t* p = out.data<uint16_t>();
  const uint64_t base = seed ^ fnv1a(t.name);
  for (int64_t i = 0, n = out.numel(); i < n; ++i) {
    const double u = static_cast<double>(mix(base + static_cast<uint64_t>(i)) >> 11) * 0x1.0p-53;  // [0, 1)
    p[i] = f32_to_bf16(static_cast<float>(mean + half * (2 * u - 1)));
  }
  return out;
}

// Removes a directory the bench made, also when it throws.
struct DirGuard {
  fs::path dir;
  bool remove = false;
  ~DirGuard() {
    std::error_code ec;
    if (remove && !dir.empty()) fs::remove_all(dir, ec);
  }
};

DoneEvent ask_once(Engine& engine, const std::vector<int32_t>& ids, const std::string& image, bool staged) {
  Request q;
  q.kind = Request::Kind::raw;
  q.raw.ids = ids;
  q.raw.images = {image};
  q.raw.ignore_eos = true;
  q.raw.detokenize = false;
  q.raw.time_stages = staged;
  q.raw.time_chunks = staged;  // each prefill call waited for: the prefill stage ends on the device
  q.options.max_tokens = 1;    // the first token: what TTFT measures
  RequestHandle h = engine.submit(std::move(q));
  h.wait();
  if (h.error()) throw h.error()->error;
  const DoneEvent& d = *h.done();
  MVL_CHECK(d.images.size() == 1 && d.usage.completion_tokens == 1, internal,
            "bench --path vl: a request reported {} images and {} tokens, expected 1 and 1", d.images.size(),
            d.usage.completion_tokens);
  return d;
}

}  // namespace

VlBenchReport run_vl_bench(const VlBenchOptions& o) {
  ModelConfig cfg = ModelConfig::load_dir(o.config);
  MVL_CHECK(cfg.has_vision, invalid_argument, "bench --path vl: '{}' has no vision_config", o.config);
  MVL_CHECK(o.layers >= 1 && o.layers <= cfg.text.num_hidden_layers, invalid_argument,
            "bench --path vl: --layers {} but '{}' has {} text layers", o.layers, o.config,
            cfg.text.num_hidden_layers);
  MVL_CHECK(o.reps >= 1 && o.text_before >= 0 && o.text_after >= 1, invalid_argument,
            "bench --path vl: --reps must be positive and the question must have ids after the image");
  MVL_CHECK(!o.images.empty() || !o.sizes.empty(), invalid_argument, "bench --path vl: no image to ask about");
  cfg.text.num_hidden_layers = o.layers;
  cfg.text.layer_types.resize(static_cast<size_t>(o.layers));
  VlBenchReport r;
  r.layers = o.layers;
  r.lightning_layers = cfg.text.num_lightning_layers();
  r.softmax_layers = cfg.text.num_softmax_layers();
  r.vision_layers = cfg.vision.num_hidden_layers;
  r.vision_hidden = cfg.vision.hidden_size;
  r.text_hidden = cfg.text.hidden_size;
  r.chunk = o.chunk;
  r.ubatch = o.ubatch;

  // The images: the given files, or generated PNGs (kept in images_dir when given).
  DirGuard dir;
  std::vector<std::pair<std::string, std::string>> images;  // label, path
  if (!o.images.empty()) {
    for (const auto& p : o.images) images.emplace_back(fs::path(p).filename().string(), p);
  } else {
    dir.dir = o.images_dir.empty()
                  ? fs::temp_directory_path() / fmt::format("minimax-vl-bench-vl-{}", static_cast<long>(::getpid()))
                  : fs::path(o.images_dir);
    dir.remove = o.images_dir.empty();
    std::error_code ec;
    fs::create_directories(dir.dir, ec);
    MVL_CHECK(!ec, io, "bench --path vl: cannot create '{}': {}", dir.dir.string(), ec.message());
    for (size_t i = 0; i < o.sizes.size(); ++i) {
      const auto [w, h] = o.sizes[i];
      const SyntheticKind kind = i == 0 ? SyntheticKind::page : SyntheticKind::scan;
      const std::string label = fmt::format("{} {}x{}", kind == SyntheticKind::page ? "page" : "scan", w, h);
      const std::string path = (dir.dir / fmt::format("{}_{}x{}.png", i == 0 ? "page" : "scan", w, h)).string();
      write_synthetic_png(path, kind, w, h, o.seed + i);
      images.emplace_back(label, path);
    }
  }

  // The plan's bytes: the text slice (bf16 on a GPU) and the vision half as written.
  const DType wdt = o.cpu ? DType::f32 : DType::bf16;
  r.text_weight_bytes = static_cast<uint64_t>(llm::text_global_weight_bytes(cfg.text, wdt));
  for (int64_t l = 0; l < o.layers; ++l)
    r.text_weight_bytes += static_cast<uint64_t>(llm::text_layer_weight_bytes(cfg.text, l, wdt));
  const vision::VisionWeightNames vnames = vision_naming(cfg.layout);
  vision::for_each_vision_tensor(cfg.vision, vnames, cfg.text.hidden_size, [&](const vision::VisionTensor& t) {
    r.vision_weight_bytes += static_cast<uint64_t>(shape_numel(t.shape)) * 2;
  });

  ops::DeviceContext dev;
  if (!o.cpu) {
    dev = ops::DeviceContext::open(Device::cuda(o.device));
    r.device_name = ops::cuda_device_name(o.device);
    const size_t free_b = read_gpu_memory(o.device).free_bytes;
    // The largest prompt: a 2016x2016 page is ~11K positions; one pass of ubatch positions at most.
    const int64_t pass = o.ubatch > 0 ? o.ubatch : 16384;
    const uint64_t act = prefill_activation_bytes(cfg.text, pass);
    const uint64_t need = r.text_weight_bytes + r.vision_weight_bytes + act + kFitReserve;
    MVL_CHECK(need <= free_b, out_of_memory,
              "bench --path vl: {} text layers + the vision half need about {} (text {} + vision {} + one "
              "{}-position pass {} + {} reserve) but {} are free on GPU {}; pass fewer --layers",
              o.layers, format_bytes(need), format_bytes(r.text_weight_bytes), format_bytes(r.vision_weight_bytes),
              pass, format_bytes(act), format_bytes(kFitReserve), format_bytes(free_b), o.device);
  } else {
    r.device_name = "cpu";
  }

  const auto t0 = std::chrono::steady_clock::now();
  LoadedModel model = load_random_text_model(cfg.text, dev, o.seed);
  r.precision = model.info.precision;
  {
    // The vision half through the checkpoint loader: random tensors in a temp file.
    DirGuard wdir;
    wdir.dir = fs::temp_directory_path() / fmt::format("minimax-vl-bench-vl-weights-{}", static_cast<long>(::getpid()));
    wdir.remove = true;
    std::error_code ec;
    fs::create_directories(wdir.dir, ec);
    MVL_CHECK(!ec, io, "bench --path vl: cannot create '{}': {}", wdir.dir.string(), ec.message());
    const std::string file = (wdir.dir / "model.safetensors").string();
    {
      SafetensorsWriter w;
      vision::for_each_vision_tensor(cfg.vision, vnames, cfg.text.hidden_size,
                                     [&](const vision::VisionTensor& t) { w.add(t.name, random_vision_tensor(t, o.seed)); });
      w.set_metadata("format", "pt");
      w.write(file);
    }
    const Checkpoint ckpt = Checkpoint::open(file);
    const ops::Precision prec = ops::resolve_precision(std::nullopt, dev);
    model.vision = load_vision_encoder(cfg, ckpt, dev, prec, EngineOptions{}.resize_compat);
  }
  dev.synchronize();
  r.make_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  model.info.has_vision = true;
  model.info.image_token_id = cfg.image_token_index;
  const int64_t vocab = cfg.text.vocab_size;
  MVL_CHECK(cfg.image_token_index >= 0 && cfg.image_token_index < vocab, invalid_argument,
            "bench --path vl: the image token {} is outside the vocabulary of {}", cfg.image_token_index, vocab);

  // The prompt: question ids around one image slot (no id equals the image token).
  std::vector<int32_t> ids;
  auto text_id = [&](int64_t i) {
    int64_t id = (i * 7919 + 13) % vocab;
    if (id == cfg.image_token_index) id = (id + 1) % vocab;
    return static_cast<int32_t>(id);
  };
  for (int64_t i = 0; i < o.text_before; ++i) ids.push_back(text_id(i));
  ids.push_back(static_cast<int32_t>(cfg.image_token_index));
  for (int64_t i = 0; i < o.text_after; ++i) ids.push_back(text_id(o.text_before + i));

  EngineOptions eo;
  eo.prefill_chunk = o.chunk;
  eo.prefill_ubatch = o.ubatch;
  eo.max_running = 1;
  Engine engine(std::move(model), eo);
  for (const auto& [label, path] : images) {
    VlBenchRow row;
    row.label = label;
    row.path = path;
    std::error_code ec;
    row.file_bytes = static_cast<uint64_t>(fs::file_size(path, ec));
    // Warm-up of both modes at this image's shapes (GEMM plans, the allocator's pool).
    ask_once(engine, ids, path, false);
    ask_once(engine, ids, path, true);
    std::vector<double> dec, pre, vit, proj, prefill, first, ttft_staged;
    for (int rep = 0; rep < o.reps; ++rep) {
      const DoneEvent plain = ask_once(engine, ids, path, false);
      row.ttft_reps.push_back(plain.timings.ttft_ms);
      const DoneEvent s = ask_once(engine, ids, path, true);
      const ImageReport& im = s.images[0];
      dec.push_back(im.decode_ms);
      pre.push_back(im.preprocess_ms - im.decode_ms);
      vit.push_back(im.vit_ms);
      proj.push_back(im.project_ms);
      prefill.push_back(s.timings.prefill_ms);
      first.push_back(s.timings.ttft_ms - im.preprocess_ms - im.encode_ms - s.timings.prefill_ms);
      ttft_staged.push_back(s.timings.ttft_ms);
      row.width = im.width;
      row.height = im.height;
      row.grid_rows = im.grid_rows;
      row.grid_cols = im.grid_cols;
      row.image_tokens = im.image_tokens;
      row.prompt_tokens = s.usage.prompt_tokens;
      row.prefill_calls = static_cast<int64_t>(s.prefill_chunk_ms.size());
    }
    row.tiles = row.grid_rows * row.grid_cols + 1;
    row.text_tokens = static_cast<int64_t>(ids.size()) - 1;
    row.staged = {median(dec), median(pre), median(vit), median(proj), median(prefill), median(first),
                  median(ttft_staged)};
    row.ttft_ms = median(row.ttft_reps);
    r.rows.push_back(std::move(row));
  }
  return r;
}

}  // namespace mvl::engine
