// quantize_model_dir (quantize.h): the config and file handling around llm::quantize_checkpoint.
#include "app/engine/loading/quantize.h"

#include <filesystem>

#include "app/engine/loading/model_config.h"
#include "kernels/core/error.h"
#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "llm/weights/quant_checkpoint.h"

namespace mvl::engine {

namespace fs = std::filesystem;

namespace {
bool is_weight_file(const fs::path& p) {
  return p.extension() == ".safetensors" || p.filename() == "model.safetensors.index.json";
}
uint64_t weight_bytes(const std::string& dir) {
  uint64_t b = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".safetensors") b += e.file_size();
  return b;
}
}  // namespace

QuantizeResult quantize_model_dir(const std::string& src, const std::string& dst,
                                  llm::QuantScheme s,
                                  const std::function<void(const QuantizeProgress&)>& progress) {
  return in_context("quantizing model '" + src + "'", [&] {
    std::error_code ec;
    MVL_CHECK(fs::is_directory(src, ec), not_found,
              "no such model directory; pass -m DIR with config.json and *.safetensors");
    MVL_CHECK(s != llm::QuantScheme::none, invalid_argument, "quantize: no format given");
    const std::string cfg_path = (fs::path(src) / "config.json").string();
    json::Json cfg = json::parse_file(cfg_path);
    const llm::QuantScheme had = llm::stored_quant_scheme(cfg, cfg_path);
    MVL_CHECK(had == llm::QuantScheme::none, unsupported,
              "the checkpoint is already quantized ({}); quantize the bf16 checkpoint",
              llm::quant_scheme_name(had));
    const ModelConfig mc = ModelConfig::load_dir(src);
    const Checkpoint ckpt = Checkpoint::open(src);
    const llm::TextWeightNaming naming = llm::TextWeightNaming::detect(ckpt);
    QuantizeResult r;
    r.files = llm::quantize_checkpoint(
        ckpt, mc.text, naming, s, dst, [&](const llm::QuantizeProgress& p) {
          if (progress) progress({p.file, p.files, p.name, p.bytes_in, p.bytes_out});
        });
    cfg["quantization_config"] = llm::quantization_config_json(s);
    const std::string text = cfg.dump(2) + "\n";
    std::FILE* fp = std::fopen((fs::path(dst) / "config.json").string().c_str(), "wb");
    const bool ok = fp && std::fwrite(text.data(), 1, text.size(), fp) == text.size();
    MVL_CHECK(fp && std::fclose(fp) == 0 && ok, io, "cannot write config.json to '{}'", dst);
    for (const auto& e : fs::directory_iterator(src)) {
      if (!e.is_regular_file() || is_weight_file(e.path()) || e.path().filename() == "config.json")
        continue;
      fs::copy_file(e.path(), fs::path(dst) / e.path().filename(),
                    fs::copy_options::overwrite_existing, ec);
      MVL_CHECK(!ec, io, "cannot copy '{}' to '{}': {}", e.path().string(), dst, ec.message());
    }
    r.source_bytes = weight_bytes(src);
    r.written_bytes = weight_bytes(dst);
    return r;
  });
}

}  // namespace mvl::engine
