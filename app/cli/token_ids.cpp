// Reading token-id prompts and splicing image features into them.
#include "app/cli/token_ids.h"

#include <unistd.h>

#include <sstream>

#include "app/cli/command.h"
#include "app/engine/loading/checkpoint.h"
#include "kernels/core/error.h"
#include "kernels/core/file_io.h"

namespace mvl::cli {

ParityModel load_parity_model(const std::string& dir, const ops::DeviceContext& dev,
                              std::optional<ops::Precision> precision) {
  return load_phase([&] {
    return in_context(fmt::format("loading model '{}'", dir), [&] {
      engine::ModelConfig cfg = engine::ModelConfig::load_dir(dir);
      Checkpoint ckpt = Checkpoint::open(dir);
      llm::TextLoadOptions text_opts;
      text_opts.precision = precision;
      llm::TextModel model = llm::TextModel::load(ckpt, cfg.text, llm::TextWeightNaming::detect(ckpt), dev, text_opts);
      return ParityModel{std::move(cfg), std::move(ckpt), std::move(model)};
    });
  });
}

std::vector<int32_t> read_token_ids(const std::string& file) {
  std::string text = file == "-" ? read_stream(STDIN_FILENO, kMaxStdinBytes, "the ids on stdin")
                                 : read_regular_file(file, kMaxStdinBytes);
  for (char& c : text)
    if (c == ',' || c == '[' || c == ']') c = ' ';
  std::istringstream is(text);
  std::vector<int32_t> ids;
  std::string tok;
  while (is >> tok) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(tok, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    MVL_CHECK(used == tok.size() && v >= 0 && v <= INT32_MAX, invalid_argument,
              "ids file '{}': '{}' (item {}) is not a token id; expected whitespace-separated integers", file, tok,
              ids.size() + 1);
    ids.push_back(static_cast<int32_t>(v));
  }
  MVL_CHECK(!ids.empty(), invalid_argument, "ids file '{}' holds no token ids", file);
  return ids;
}

void check_token_ids(const std::vector<int32_t>& ids, int64_t vocab_size) {
  for (size_t i = 0; i < ids.size(); ++i)
    MVL_CHECK(ids[i] < vocab_size, invalid_argument,
              "token id {} (position {}) is outside the model's vocabulary of {}", ids[i], i, vocab_size);
}

SplicedPrompt splice_images(const std::vector<int32_t>& ids, const std::vector<std::string>& images,
                            const engine::ModelConfig& cfg, const Checkpoint& ckpt,
                            vision::PillowPassOrder resize_compat) {
  const int64_t image_id = cfg.image_token_index;
  size_t slots = 0;
  for (int32_t id : ids) slots += id == image_id ? 1 : 0;
  MVL_CHECK(slots == images.size(), invalid_argument,
            "the ids hold {} image token(s) (id {}) but {} --image file(s) were given; pass one --image per "
            "image token, in order",
            slots, image_id, images.size());
  SplicedPrompt out;
  if (images.empty()) {
    out.segments.push_back(llm::Segment::tokens(ids));
    out.positions = static_cast<int64_t>(ids.size());
    return out;
  }
  MVL_CHECK(cfg.has_vision, unsupported, "--image given but this checkpoint has no vision tower");
  // Decode and preprocess every image first, so a bad file fails before any ViT work.
  std::vector<std::shared_ptr<const engine::PreparedImage>> prepared;
  {
    const auto probe = load_phase([&] {
      return in_context("loading the vision tower", [&] {
        return engine::load_vision_encoder(cfg, ckpt, {}, std::nullopt, resize_compat);
      });
    });
    for (const auto& path : images) prepared.push_back(probe->prepare(path));
    std::vector<int32_t> run;
    size_t k = 0;
    for (int32_t id : ids) {
      if (id != image_id) {
        run.push_back(id);
        continue;
      }
      if (!run.empty()) out.segments.push_back(llm::Segment::tokens(std::move(run)));
      run.clear();
      Tensor rows = probe->encode(*prepared[k], {});  // f32 [image_tokens, hidden]
      out.image_tokens.push_back(rows.dim(0));
      out.segments.push_back(llm::Segment::rows(std::move(rows)));
      ++k;
    }
    if (!run.empty()) out.segments.push_back(llm::Segment::tokens(std::move(run)));
  }
  for (const auto& s : out.segments) out.positions += s.size();
  return out;
}

}  // namespace mvl::cli
