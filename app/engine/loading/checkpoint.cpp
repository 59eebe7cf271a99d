// Adapters from the real llm::/vision:: classes to the engine's model interfaces
// (LanguageModel, VisionEncoder), load_checkpoint and Engine::open. The prompt codec is in
// prompt_codec.cpp.
#include "app/engine/loading/checkpoint.h"

#include <algorithm>
#include <filesystem>

#include "app/engine/loading/checkpoint_layout.h"
#include "app/engine/loading/memory_check.h"
#include "app/engine/loading/prompt_codec.h"
#include "kernels/core/log.h"
#include "kernels/core/safetensors.h"
#include "kernels/ops/device.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/model/text_model.h"
#include "llm/tokenizer/tokenizer.h"
#include "vision/image/image.h"
#include "vision/model/packing.h"
#include "vision/model/vision_model.h"
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
  explicit RealState(llm::SequenceState s) : s_(std::move(s)), empty_(s_.snapshot()) {}
  int64_t length() const override { return s_.position(); }
  std::unique_ptr<StateSnapshot> snapshot() const override {
    auto r = std::make_unique<RealSnapshot>();
    r->s = s_.snapshot();
    return r;
  }
  void restore(const StateSnapshot& snap) override { s_.restore(dynamic_cast<const RealSnapshot&>(snap).s); }
  void reset() override { s_.restore(empty_); }
  llm::SequenceState& seq() { return s_; }

 private:
  llm::SequenceState s_;
  llm::SequenceState::Snapshot empty_;
};

std::vector<float> to_vector(const Tensor& logits) {
  // GPU logits come back to the host here (the sampler and stop rules run on the host).
  const Tensor c = logits.device().is_cpu() ? contiguous(logits) : ops::to_device(logits, Device::cpu());
  MVL_CHECK(c.dtype() == DType::f32, internal, "logits must be f32, got {}", c.str());
  const float* p = c.data<float>();
  return std::vector<float>(p, p + c.numel());
}

class RealLm : public LanguageModel {
 public:
  explicit RealLm(llm::TextModel m) : m_(std::move(m)) {}
  std::unique_ptr<ModelState> new_state() override { return std::make_unique<RealState>(m_.new_state()); }
  std::vector<float> prefill(const std::vector<Segment>& segs, ModelState& state) override {
    std::vector<llm::Segment> in;
    in.reserve(segs.size());
    for (const auto& s : segs) in.push_back(s.is_rows() ? llm::Segment::rows(s.rows) : llm::Segment::tokens(s.ids));
    const Tensor logits = m_.prefill(in, dynamic_cast<RealState&>(state).seq());  // f32 [1, vocab]
    return to_vector(logits.select(0, logits.dim(0) - 1));
  }
  std::vector<float> decode(int32_t id, ModelState& state) override {
    return to_vector(m_.decode(id, dynamic_cast<RealState&>(state).seq()));
  }
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
      p->pre =
          in_context("image '" + path + "'", [&] { return vision::preprocess(img, pc_, po_); });
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
    Tensor rows = m_.encode(p, cancelled);  // f32 [image_tokens, text_hidden]; undefined if cancelled
    if (!rows.defined()) return {};
    m_.device().synchronize();  // so the caller's encode time covers the GPU work
    return rows;
  }

 private:
  vision::VisionModel m_;
  vision::PreprocessConfig pc_;
  vision::PreprocessOptions po_;
};

void report(const ProgressFn& progress, double f, const std::string& stage) {
  if (progress) progress(f, stage);
}

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

LoadedModel load_checkpoint(const EngineOptions& opts, const ProgressFn& progress) {
  return in_context("loading model '" + opts.model_dir + "'", [&] {
    std::error_code ec;
    MVL_CHECK(fs::is_directory(opts.model_dir, ec), not_found,
              "no such model directory; pass -m DIR with config.json, tokenizer.json and *.safetensors");
    report(progress, 0.0, "config");
    const ModelConfig cfg = ModelConfig::load_dir(opts.model_dir);
    check_model_fits(cfg, opts);  // before any weight is read: refuse at once if it cannot fit
    report(progress, 0.05, "tokenizer");
    const std::string tok_path = (fs::path(opts.model_dir) / "tokenizer.json").string();
    auto codec = make_prompt_codec(llm::Tokenizer::from_file(tok_path, cfg.text.vocab_size),
                                   cfg.image_token_index);
    report(progress, 0.1, "checkpoint");
    const Checkpoint ckpt = Checkpoint::open(opts.model_dir);
    report(progress, 0.15, "text model");
    // Released: language_model.model.* + per-expert w1/w2/w3; native: model.language_model.*
    // + fused experts. detect() confirms against the keys actually present.
    const llm::TextWeightNaming naming = llm::TextWeightNaming::detect(ckpt);
    // Both halves run on the chosen backend (CUDA: weights uploaded once as bf16; the packed
    // image features stay on the GPU for prefill). Throws Error{unsupported} for CUDA in
    // CPU-only builds.
    const ops::DeviceContext dev =
        ops::DeviceContext::open(opts.backend == Backend::cuda ? Device::cuda(opts.device) : Device::cpu());
    llm::TextLoadOptions text_opts;
    text_opts.precision = opts.precision;
    text_opts.quant = opts.quant;
    auto lm = std::make_unique<RealLm>(llm::TextModel::load(ckpt, cfg.text, naming, dev, text_opts));
    const std::string precision = ops::precision_name(lm->model().precision());
    report(progress, 0.85, "vision");
    // The vision half runs at the text model's precision (f32 keeps CPU parity end to end).
    std::unique_ptr<VisionEncoder> vis =
        load_vision_encoder(cfg, ckpt, dev, lm->model().precision(), opts.resize_compat);
    LoadedModel m;
    m.info.dir = opts.model_dir;
    m.info.layout = cfg.layout == CheckpointLayout::native ? "native" : "released";
    m.info.backend = backend_name(opts.backend);
    m.info.precision = precision;
    m.info.num_layers = cfg.text.num_hidden_layers;
    m.info.hidden_size = cfg.text.hidden_size;
    m.info.vocab_size = cfg.text.vocab_size;
    m.info.max_context = lm->max_context();
    for (const auto& n : ckpt.names()) m.info.num_parameters += shape_numel(ckpt.info(n).shape);
    m.info.has_vision = cfg.has_vision;
    m.info.tiny_demo = is_tiny_demo_model(opts.model_dir);
    m.codec = std::move(codec);
    m.lm = std::move(lm);
    m.vision = std::move(vis);
    report(progress, 1.0, "ready");
    return m;
  });
}

std::unique_ptr<Engine> Engine::open(const EngineOptions& opts, const ProgressFn& progress) {
  const double t0 = now_ms();
  LoadedModel m = load_checkpoint(opts, progress);
  return std::make_unique<Engine>(std::move(m), opts, now_ms() - t0);
}

}  // namespace mvl::engine
