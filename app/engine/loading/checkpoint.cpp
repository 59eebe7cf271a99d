// Adapters from the real llm::/vision:: classes to the engine's model interfaces
// (LanguageModel, VisionEncoder), load_checkpoint and Engine::open. The prompt codec is in
// prompt_codec.cpp.
#include "app/engine/loading/checkpoint.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>

#include "app/engine/loading/checkpoint_layout.h"
#include "app/engine/loading/load_progress.h"
#include "app/engine/loading/memory_check.h"
#include "app/engine/loading/prompt_codec.h"
#include "app/engine/loading/sharded_lm.h"
#include "app/engine/loading/tile_map.h"
#include "kernels/core/json.h"
#include "kernels/core/log.h"
#include "kernels/core/safetensors.h"
#include "kernels/ops/device.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/model/text_model.h"
#include "llm/weights/quant_checkpoint.h"
#include "llm/tokenizer/tokenizer.h"
#include "vision/image/image.h"
#include "vision/model/packing.h"
#include "vision/model/vision_model.h"
#include "vision/preprocess/anyres.h"
#include "vision/preprocess/preprocess.h"

namespace mvl::engine {
namespace fs = std::filesystem;
namespace {

// Default context cap when the config's max_position_embeddings is smaller (see RealLm).
constexpr int64_t kDefaultContext = 65536;

struct RealSnapshot : StateSnapshot {
  llm::SequenceState::Snapshot s;
  int64_t length() const override { return s.position; }
};

class RealState : public ModelState {
 public:
  RealState(llm::SequenceState s, const llm::TextModel& m) : s_(std::move(s)), empty_(s_.snapshot()), m_(m) {}
  int64_t length() const override { return s_.position(); }
  std::unique_ptr<StateSnapshot> snapshot() const override {
    auto r = std::make_unique<RealSnapshot>();
    r->s = s_.snapshot();
    return r;
  }
  void restore(const StateSnapshot& snap) override { s_.restore(dynamic_cast<const RealSnapshot&>(snap).s); }
  void reset() override { s_.restore(empty_); }
  llm::SequenceState& seq() { return s_; }
  void reserve(int64_t positions) override { s_.reserve_kv(positions); }
  std::string decode_report() const override {
    const llm::DecodeGraphStats g = m_.decode_graph_stats(const_cast<llm::SequenceState&>(s_));
    return fmt::format("{} graph replays, {} captures, {} eager steps{}{}", g.replays, g.captures, g.eager_steps,
                       g.disabled.empty() ? "" : "; off: ", g.disabled);
  }

 private:
  llm::SequenceState s_;
  llm::SequenceState::Snapshot empty_;
  const llm::TextModel& m_;  // owned by the RealLm that made this state
};

class RealLm : public LanguageModel {
 public:
  explicit RealLm(llm::TextModel m) : m_(std::move(m)), eager_(m_.with_cuda_graphs(false)) {}
  std::unique_ptr<ModelState> new_state() override { return std::make_unique<RealState>(m_.new_state(), m_); }
  // Logits stay on the model's device (f32 views; the sampler runs there).
  Tensor prefill(const std::vector<Segment>& segs, ModelState& state, bool all_positions) override {
    std::vector<llm::Segment> in;
    in.reserve(segs.size());
    for (const auto& s : segs) in.push_back(s.is_rows() ? llm::Segment::rows(s.rows) : llm::Segment::tokens(s.ids));
    llm::PrefillOptions po;
    po.all_logits = all_positions;
    po.chunk_size = ubatch_;
    const Tensor logits = m_.prefill(in, dynamic_cast<RealState&>(state).seq(), po);  // f32 [n|1, vocab]
    return all_positions ? logits : logits.select(0, logits.dim(0) - 1);
  }
  Tensor decode(int32_t id, ModelState& state) override {
    return (graphs_ ? m_ : eager_).decode(id, dynamic_cast<RealState&>(state).seq());
  }
  Tensor decode_device(const Tensor& id, ModelState& state) override {
    return (graphs_ ? m_ : eager_).decode(id, dynamic_cast<RealState&>(state).seq());
  }
  bool asynchronous() const override { return m_.device().is_cuda(); }
  std::vector<Tensor> decode_batch(const std::vector<int32_t>& ids,
                                   const std::vector<ModelState*>& states) override {
    std::vector<llm::SequenceState*> seqs;
    for (ModelState* s : states) seqs.push_back(&dynamic_cast<RealState&>(*s).seq());
    const Tensor logits = (graphs_ ? m_ : eager_).decode_batch(ids, seqs);  // f32 [B, vocab]
    std::vector<Tensor> rows;
    for (int64_t i = 0; i < logits.dim(0); ++i) rows.push_back(logits.select(0, i));
    return rows;
  }
  void set_decode_graphs(bool on) override { graphs_ = on; }
  void set_batch_decode_mode(BatchDecodeMode mode) override {
    const llm::BatchAttention a = mode == BatchDecodeMode::per_sequence ? llm::BatchAttention::per_sequence
                                  : mode == BatchDecodeMode::batched     ? llm::BatchAttention::batched
                                                                         : llm::BatchAttention::batched_fill;
    m_ = m_.with_batch_attention(a);
    eager_ = eager_.with_batch_attention(a);
  }
  void set_prefill_ubatch(int64_t positions) override { ubatch_ = std::max<int64_t>(positions, 0); }
  int64_t vocab_size() const override { return m_.config().vocab_size; }
  const llm::TextModel& model() const { return m_; }
  int64_t hidden_size() const override { return m_.config().hidden_size; }
  // max_position_embeddings (8192 in VL-01's config) is only a RoPE-cache size in the
  // reference, which grows it on demand (spec §6.5, §9 item 11), and one large image alone
  // can take 11,088 positions. So it is not a hard limit here: the default cap is at least
  // kDefaultContext; -c/--ctx-size sets another.
  int64_t max_context() const override {
    return std::max<int64_t>(m_.config().max_position_embeddings, kDefaultContext);
  }

 private:
  llm::TextModel m_;
  llm::TextModel eager_;  // the same weights, decoding op by op
  bool graphs_ = true;
  int64_t ubatch_ = llm::kDefaultPrefillChunk;
};

struct RealPrepared : PreparedImage {
  vision::PreprocessResult pre;
};

class RealVision : public VisionEncoder {
 public:
  RealVision(vision::VisionModel m, vision::PreprocessConfig pc, vision::PreprocessOptions po)
      : m_(std::move(m)), pc_(std::move(pc)), po_(po) {}
  std::shared_ptr<const PreparedImage> prepare(const std::string& path) const override {
    {
      const double t0 = now_ms();
      auto p = std::make_shared<RealPrepared>();
      const vision::Image img = vision::decode_image_file(path);  // its errors name the file
      p->decode_ms = now_ms() - t0;
      p->pre = in_context("image '" + path + "'", [&] {
        vision::PreprocessConfig pc = pc_;  // the token budget narrows the grid choice
        pc.pinpoints = vision::pinpoints_within_budget(img.width, img.height, pc_, max_image_tokens_.load());
        return vision::preprocess(img, pc, po_);
      });
      p->path = path;
      p->width = p->pre.width();
      p->height = p->pre.height();
      p->grid_rows = p->pre.grid_rows();
      p->grid_cols = p->pre.grid_cols();
      p->image_tokens = p->pre.image_tokens();
      p->preprocess_ms = now_ms() - t0;
      return std::shared_ptr<const PreparedImage>(std::move(p));
    }
  }
  // VisionModel::encode with the cancel check: all tiles as one batch on a GPU, tile by tile
  // with the check between tiles on the CPU (tiles are independent: same rows either way).
  Tensor encode(const PreparedImage& img, const CancelCheck& cancelled) override {
    const auto& p = dynamic_cast<const RealPrepared&>(img).pre;
    // [image_tokens, text_hidden] at the activation dtype on the device; undefined if cancelled
    Tensor rows = m_.encode_rows(p, cancelled);
    if (!rows.defined()) return {};
    m_.device().synchronize();  // so the caller's encode time covers the GPU work
    return rows;
  }
  // encode() in two timed stages: VisionModel::encode_rows waits for the device after the ViT
  // (vit_ms), then after the projector and packing (project_ms). Only benchmarks take this road
  // (RawPrompt::time_stages): the wait between the stages costs a little overlap.
  Tensor encode_staged(const PreparedImage& img, const CancelCheck& cancelled, EncodeStages& t) override {
    const auto& p = dynamic_cast<const RealPrepared&>(img).pre;
    const double t0 = now_ms();
    double t1 = t0;
    Tensor rows = m_.encode_rows(p, cancelled, [&] {
      m_.device().synchronize();
      t1 = now_ms();
    });
    if (!rows.defined()) return {};
    m_.device().synchronize();
    t.vit_ms = t1 - t0;
    t.project_ms = now_ms() - t1;
    return rows;
  }
  TileMap tile_map(int64_t width, int64_t height) const override {
    return compute_tile_map(width, height, pc_, max_image_tokens_.load());
  }
  void set_max_image_tokens(int64_t n) override { max_image_tokens_ = n; }

 private:
  vision::VisionModel m_;
  vision::PreprocessConfig pc_;
  vision::PreprocessOptions po_;
  std::atomic<int64_t> max_image_tokens_{0};
};

}  // namespace

bool is_tiny_demo_model(const std::string& dir) {
  std::error_code ec;
  const fs::path p = fs::weakly_canonical(dir, ec);
  return p.filename() == "tiny-random";
}

std::unique_ptr<VisionEncoder> load_vision_encoder(const ModelConfig& cfg, const Checkpoint& ckpt,
                                                   const ops::DeviceContext& dev,
                                                   std::optional<ops::Precision> precision,
                                                   vision::PillowPassOrder resize_compat) {
  if (!cfg.has_vision) return nullptr;
  vision::VisionModelOptions vo;
  if (precision) vo.activations = ops::activation_dtype(*precision);
  vo.text_hidden = cfg.text.hidden_size;
  vo.feature_layer = cfg.vision_feature_layer;
  vo.select_strategy = cfg.vision_feature_select_strategy;
  vo.projector_act = cfg.projector_hidden_act;
  // The vision half's names follow the text half's (the one detection, checkpoint_layout.h).
  const auto names = vision_naming(detect_layout(ckpt.names(), cfg.layout));
  vision::PreprocessOptions po;
  po.pass_order = resize_compat;
  return std::make_unique<RealVision>(vision::VisionModel::load(ckpt, cfg.vision, vo, names, dev),
                                      cfg.preprocess, po);
}

LoadedModel load_checkpoint(const EngineOptions& opts, const LoadProgressFn& progress) {
  LoadMeter meter(progress);
  return in_context("loading model '" + opts.model_dir + "'", [&] {
    std::error_code ec;
    MVL_CHECK(fs::is_directory(opts.model_dir, ec), not_found,
              "no such model directory; pass -m DIR with config.json, tokenizer.json and *.safetensors");
    meter.step("config", 0.0);
    const ModelConfig cfg = ModelConfig::load_dir(opts.model_dir);
    // A `minimax-vl quantize` checkpoint declares its scheme in config.json (read as stored).
    const std::string cfg_path = (fs::path(opts.model_dir) / "config.json").string();
    const llm::QuantScheme stored =
        llm::stored_quant_scheme(json::parse_file(cfg_path), cfg_path);
    EngineOptions fit_opts = opts;
    if (stored != llm::QuantScheme::none) fit_opts.quant = stored;
    check_model_fits(cfg, fit_opts);  // before any weight is read: refuse at once if it cannot fit
    meter.step("tokenizer", 0.005);
    const std::string tok_path = (fs::path(opts.model_dir) / "tokenizer.json").string();
    std::unique_ptr<PromptCodec> codec;
    if (opts.require_tokenizer || fs::exists(tok_path, ec))
      codec = make_prompt_codec(llm::Tokenizer::from_file(tok_path, cfg.text.vocab_size), cfg.image_token_index);
    meter.step("checkpoint", 0.01);
    Checkpoint ckpt = Checkpoint::open(opts.model_dir);
    meter.attach(ckpt);
    meter.weights("text model");
    // Released: language_model.model.* + per-expert w1/w2/w3; native: model.language_model.*
    // + fused experts. detect() confirms against the keys actually present.
    const llm::TextWeightNaming naming = llm::TextWeightNaming::detect(ckpt);
    // Both halves run on the chosen backend (CUDA: weights uploaded once as bf16; the packed
    // image features stay on the GPU for prefill). Throws Error{unsupported} for CUDA in
    // CPU-only builds.
    const ops::DeviceContext dev =
        ops::DeviceContext::open(opts.backend == Backend::cuda ? Device::cuda(opts.device) : Device::cpu());
    std::unique_ptr<LanguageModel> lm;
    ops::Precision prec = ops::Precision::f32;
    if (opts.tp > 1 || opts.rank >= 0) {
      // The text model over opts.tp ranks: CPU threads, or GPUs device .. device + tp - 1.
      // Every scheme: each rank quantizes (or, stored, cuts) its slices to --tp 1's codes.
      prec = ops::resolve_precision(opts.precision, dev);
      lm = load_sharded_lm(ckpt, cfg.text, opts.tp, dev.device(), prec, opts.rank,
                           opts.rendezvous, opts.quant, stored);
    } else {
      llm::TextLoadOptions text_opts;
      text_opts.precision = opts.precision;
      text_opts.quant = opts.quant;
      text_opts.stored_quant = stored;
      if (dev.is_cuda() && opts.quant == llm::QuantScheme::none) {
        // On a GPU the weights are read while they are uploaded: count there, not at get().
        // (Quantizing at load reads each tensor on the host as it is fetched: count gets.)
        meter.count_gets(false);
        text_opts.on_upload = [&meter](size_t bytes) { meter.add(bytes); };
      }
      auto real = std::make_unique<RealLm>(llm::TextModel::load(ckpt, cfg.text, naming, dev, text_opts));
      prec = real->model().precision();
      lm = std::move(real);
      meter.count_gets(true);
    }
    const std::string precision = ops::precision_name(prec);
    meter.weights("vision");
    // The vision half runs at the text model's precision (f32 keeps CPU parity end to end),
    // on the (first) text device.
    std::unique_ptr<VisionEncoder> vis = load_vision_encoder(cfg, ckpt, dev, prec, opts.resize_compat);
    LoadedModel m;
    m.info.dir = opts.model_dir;
    m.info.layout = cfg.layout == CheckpointLayout::native ? "native" : "released";
    m.info.backend = backend_name(opts.backend);
    m.info.precision = precision;
    m.info.num_layers = cfg.text.num_hidden_layers;
    m.info.hidden_size = cfg.text.hidden_size;
    m.info.vocab_size = cfg.text.vocab_size;
    m.info.max_context = lm->max_context();
    std::map<std::string, uint64_t> dtype_bytes;
    for (const auto& n : ckpt.names()) {
      const TensorInfo& t = ckpt.info(n);
      m.info.num_parameters += shape_numel(t.shape);
      dtype_bytes[dtype_name(t.dtype)] += t.end - t.begin;
      m.info.weight_bytes += t.end - t.begin;
    }
    for (const auto& [name, bytes] : dtype_bytes)
      if (m.info.weight_dtype.empty() || bytes > dtype_bytes[m.info.weight_dtype])
        m.info.weight_dtype = name;
    m.info.has_vision = cfg.has_vision;
    m.info.has_tokenizer = codec != nullptr;
    if (cfg.text.eos_token_id) m.info.eos_token_id = static_cast<int32_t>(*cfg.text.eos_token_id);
    m.info.image_token_id = cfg.image_token_index;
    m.info.tiny_demo = is_tiny_demo_model(opts.model_dir);
    m.codec = std::move(codec);
    m.lm = std::move(lm);
    m.vision = std::move(vis);
    meter.finish();
    return m;
  });
}

LoadedModel random_text_only_model(const llm::TextConfig& cfg, std::unique_ptr<LanguageModel> lm,
                                   bool cuda, const std::string& precision) {
  LoadedModel m;
  m.info.dir = "(random weights)";
  m.info.layout = "random";
  m.info.backend = cuda ? "cuda" : "cpu";
  m.info.precision = precision;
  m.info.num_layers = cfg.num_hidden_layers;
  m.info.hidden_size = cfg.hidden_size;
  m.info.vocab_size = cfg.vocab_size;
  m.info.max_context = lm->max_context();
  m.info.has_vision = false;
  m.info.has_tokenizer = false;
  if (cfg.eos_token_id) m.info.eos_token_id = static_cast<int32_t>(*cfg.eos_token_id);
  m.lm = std::move(lm);
  return m;
}

LoadedModel load_random_text_model(const llm::TextConfig& cfg, const ops::DeviceContext& dev, uint64_t seed,
                                   llm::QuantScheme quant) {
  llm::TextLoadOptions to;
  to.quant = quant;
  auto lm = std::make_unique<RealLm>(llm::TextModel::random(cfg, dev, to, seed));
  const std::string precision = ops::precision_name(lm->model().precision());
  return random_text_only_model(cfg, std::move(lm), dev.is_cuda(), precision);
}

LoadedModel load_random_chat_model(const std::string& config_path, int64_t layers,
                                   const std::string& tokenizer_dir, const ops::DeviceContext& dev,
                                   uint64_t seed) {
  const json::Json root = json::parse_file(config_path);
  const bool nested = root.contains("text_config");
  llm::TextConfig cfg =
      llm::TextConfig::from_json(nested ? json::get_object(root, "text_config", config_path) : root,
                                 "'" + config_path + "'" + (nested ? " text_config" : ""));
  MVL_CHECK(layers >= 1 && layers <= cfg.num_hidden_layers, invalid_argument,
            "--layers {}: the config '{}' has {} decoder layers", layers, config_path,
            cfg.num_hidden_layers);
  // The first layers - 1 layers, then a softmax-attention layer when the config has one (the
  // released period is 7 lightning + 1 softmax), so even a short slice runs both kinds.
  const bool has_softmax = std::find(cfg.layer_types.begin(), cfg.layer_types.end(),
                                     llm::AttnKind::softmax) != cfg.layer_types.end();
  cfg.num_hidden_layers = layers;
  cfg.layer_types.resize(static_cast<size_t>(layers));
  if (has_softmax && layers >= 2) cfg.layer_types.back() = llm::AttnKind::softmax;
  LoadedModel m = load_random_text_model(cfg, dev, seed);
  const ModelConfig tcfg = ModelConfig::load_dir(tokenizer_dir);
  MVL_CHECK(tcfg.text.vocab_size <= cfg.vocab_size, invalid_argument,
            "the tokenizer of '{}' ({} ids) does not fit the vocabulary of '{}' ({})",
            tokenizer_dir, tcfg.text.vocab_size, config_path, cfg.vocab_size);
  m.codec = make_prompt_codec(
      llm::Tokenizer::from_file((fs::path(tokenizer_dir) / "tokenizer.json").string(),
                                tcfg.text.vocab_size),
      tcfg.image_token_index);
  m.info.has_tokenizer = true;
  m.info.eos_token_id = m.codec->eos_id();
  m.info.dir = "random-weights";
  return m;
}

std::unique_ptr<Engine> Engine::open(const EngineOptions& opts, const LoadProgressFn& progress) {
  const double t0 = now_ms();
  LoadedModel m = load_checkpoint(opts, progress);
  return std::make_unique<Engine>(std::move(m), opts, now_ms() - t0);
}

std::unique_ptr<Engine> Engine::open(const EngineOptions& opts, const ProgressFn& progress) {
  LoadProgressFn bytes;
  if (progress) bytes = [progress](const LoadProgress& p) { progress(p.fraction, p.stage); };
  return open(opts, bytes);
}

}  // namespace mvl::engine
