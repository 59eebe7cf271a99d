// Quantized checkpoints: names and shapes of the side tensors, the strict reader, the
// config entry, and the shard-by-shard writer of `minimax-vl quantize` (quant_checkpoint.h).
#include "llm/weights/quant_checkpoint.h"

#include <filesystem>
#include <map>

#include "kernels/core/error.h"
#include "kernels/cpu/quant.h"
#include "kernels/ops/quant.h"

namespace fs = std::filesystem;

namespace mvl::llm {

std::string quant_scale_name(const std::string& weight) {
  return weight + "_scale";
}
std::string quant_zero_name(const std::string& weight) {
  return weight + "_zero";
}

Shape stored_code_shape(const Shape& shape, WeightFormat f) {
  Shape s = shape;
  if (f == WeightFormat::int4) s.back() = (s.back() + 1) / 2;
  return s;
}

DType stored_code_dtype(WeightFormat f) {
  return f == WeightFormat::int8       ? DType::i8
         : f == WeightFormat::fp8_e4m3 ? DType::f8_e4m3
                                       : DType::u8;
}

Shape stored_scale_shape(const Shape& shape, WeightFormat f) {
  Shape s = shape;
  s.back() = cpu::quant_scales_per_row(f, shape.back());
  return s;
}

namespace {

Tensor fetch_exact(const Checkpoint& ckpt, const std::string& name, const Shape& shape, DType dt,
                   const std::string& why) {
  MVL_CHECK(ckpt.has(name), bad_format,
            "quantized checkpoint: tensor '{}' ({}) is missing; re-run minimax-vl quantize", name,
            why);
  Tensor t = ckpt.get(name);
  MVL_CHECK(t.dtype() == dt && t.shape() == shape, bad_format,
            "quantized checkpoint: tensor '{}' ({}) is {}{} but must be {}{}; re-run minimax-vl "
            "quantize",
            name, why, dtype_name(t.dtype()), shape_str(t.shape()), dtype_name(dt),
            shape_str(shape));
  return t;
}

}  // namespace

Tensor read_quantized_weight(const Checkpoint& ckpt, const std::string& name, const Shape& shape,
                             WeightFormat f) {
  MVL_CHECK(f != WeightFormat::plain && !shape.empty(), internal, "read_quantized_weight: '{}'",
            name);
  const std::string fmt_name = weight_format_name(f);
  const Tensor codes = fetch_exact(ckpt, name, stored_code_shape(shape, f), stored_code_dtype(f),
                                   fmt_name + " codes");
  const int64_t in = shape.back(), rows = shape_numel(shape) / std::max<int64_t>(in, 1);
  const int64_t sr = cpu::quant_scales_per_row(f, in);
  auto p = std::make_shared<QuantParams>();
  p->format = f;
  p->scales = fetch_exact(ckpt, quant_scale_name(name), stored_scale_shape(shape, f), DType::f32,
                          fmt_name + " scales of '" + name + "'")
                  .view({rows, sr});
  if (f == WeightFormat::int4)
    p->zeros = fetch_exact(ckpt, quant_zero_name(name), stored_scale_shape(shape, f), DType::f32,
                           "int4 zero points of '" + name + "'")
                   .view({rows, sr});
  return Tensor(codes.storage(), codes.offset_bytes(), shape, contiguous_strides(shape),
                stored_code_dtype(f))
      .with_quant(p);
}

json::Json quantization_config_json(QuantScheme s) {
  json::Json j = json::Json::object();
  j["quant_method"] = kQuantMethod;
  j["scheme"] = quant_scheme_name(s);
  j["format"] = s == QuantScheme::fp8_experts    ? "fp8_e4m3"
                : s == QuantScheme::int4_experts ? "int4"
                                                 : "int8";
  if (s == QuantScheme::int4_experts) j["group_size"] = kInt4GroupSize;
  j["weights_only"] = true;
  j["scale_suffix"] = "_scale";
  if (s == QuantScheme::int4_experts) j["zero_suffix"] = "_zero";
  return j;
}

QuantScheme stored_quant_scheme(const json::Json& config, const std::string& what) {
  if (!config.is_object() || !config.contains("quantization_config") ||
      config["quantization_config"].is_null())
    return QuantScheme::none;
  const json::Json& q = json::get_object(config, "quantization_config", what);
  const std::string m =
      json::opt_string(q, "quant_method", what + " quantization_config").value_or("");
  MVL_CHECK(m == kQuantMethod, unsupported,
            "{}: quantization_config.quant_method '{}' is not supported (only checkpoints written "
            "by minimax-vl quantize; run it on the bf16 checkpoint, or pass --quant at load; see "
            "docs/quantization.md)",
            what, m);
  const std::string s = json::get_string(q, "scheme", what + " quantization_config");
  const auto scheme = quant_scheme_from_name(s);
  MVL_CHECK(scheme.has_value(), unsupported,
            "{}: quantization_config.scheme '{}' is unknown; expected one of {}", what, s,
            quant_scheme_choices());
  return *scheme;
}

std::vector<std::string> quantize_checkpoint(
    const Checkpoint& src, const TextConfig& cfg, const TextWeightNaming& naming, QuantScheme s,
    const std::string& out_dir, const std::function<void(const QuantizeProgress&)>& progress) {
  std::map<std::string, TextTensor> table;
  for_each_text_tensor(cfg, naming, [&](const TextTensor& t) { table.emplace(t.name, t); });
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  MVL_CHECK(!ec, io, "cannot create '{}': {}", out_dir, ec.message());
  const auto& files = src.files();
  QuantizeProgress pr;
  pr.files = files.size();
  std::vector<std::string> written;
  std::map<std::string, std::string> weight_map;
  uint64_t total = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const SafetensorsFile& in = *files[i];
    const std::string fname = fs::path(in.path()).filename().string();
    pr.file = i + 1;
    pr.name = fname;
    if (progress) progress(pr);
    SafetensorsWriter w;
    for (const auto& [k, v] : in.metadata()) w.set_metadata(k, v);
    w.set_metadata("quantization", quant_scheme_name(s));
    auto add = [&](const std::string& name, const Tensor& t) {
      w.add(name, t);
      weight_map[name] = fname;
      total += t.nbytes();
      pr.bytes_out += t.nbytes();
    };
    for (const TensorInfo& ti : in.tensors()) {
      const Tensor t = in.get(ti.name);
      pr.bytes_in += t.nbytes();
      const auto it = table.find(ti.name);
      const WeightFormat f =
          it == table.end() ? WeightFormat::plain : quant_format_of(it->second, s);
      if (f == WeightFormat::plain) {
        add(ti.name, t);
        continue;
      }
      MVL_CHECK(
          t.shape() == it->second.shape && (t.dtype() == DType::bf16 || t.dtype() == DType::f32),
          bad_format, "tensor '{}' is {}{}; quantize needs BF16 or F32 of shape {}", ti.name,
          dtype_name(t.dtype()), shape_str(t.shape()), shape_str(it->second.shape));
      const Tensor q =
          in_context(fmt::format("quantizing '{}' to {}", ti.name, weight_format_name(f)),
                     [&] { return ops::quantize_weight(t, f); });
      const Shape cs = stored_code_shape(t.shape(), f), ss = stored_scale_shape(t.shape(), f);
      add(ti.name,
          Tensor(q.storage(), q.offset_bytes(), cs, contiguous_strides(cs), stored_code_dtype(f)));
      add(quant_scale_name(ti.name), q.quant()->scales.view(ss));
      if (f == WeightFormat::int4) add(quant_zero_name(ti.name), q.quant()->zeros.view(ss));
    }
    const std::string path = (fs::path(out_dir) / fname).string();
    w.write(path);
    written.push_back(path);
  }
  const fs::path src_index =
      files.empty() ? fs::path()
                    : fs::path(files[0]->path()).parent_path() / "model.safetensors.index.json";
  if (files.size() > 1 || (!files.empty() && fs::exists(src_index, ec))) {
    const std::string idx = (fs::path(out_dir) / "model.safetensors.index.json").string();
    write_safetensors_index(idx, weight_map, total);
    written.push_back(idx);
  }
  return written;
}

}  // namespace mvl::llm
