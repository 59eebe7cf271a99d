// Writes the tiny random checkpoint (see tiny_model.h). Per-tensor init scales keep a
// forward pass sane: linear weights N(0, 1/in), norm weights 1 + N(0, 0.05^2), biases
// N(0, 0.02^2), embeddings and image_newline N(0, 1). Values are rounded to bf16 (RNE).
#include "app/engine/tiny_model.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "app/engine/tensor_inventory.h"
#include "kernels/core/error.h"
#include "kernels/core/safetensors.h"

namespace mvl::engine {

namespace fs = std::filesystem;
using json::Json;

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double SplitMix64::uniform() { return static_cast<double>((next() >> 11) + 1) * 0x1.0p-53; }

double SplitMix64::normal() {
  if (have_spare_) {
    have_spare_ = false;
    return spare_;
  }
  const double u1 = uniform(), u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double a = 6.283185307179586 * u2;
  spare_ = r * std::sin(a);
  have_spare_ = true;
  return r * std::cos(a);
}

namespace {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Init rule per tensor (see the file comment).
void init_params(const ExpectedTensor& e, double* mean, double* std) {
  const std::string& n = e.name;
  auto ends = [&n](const char* s) {
    const std::string x(s);
    return n.size() >= x.size() && n.compare(n.size() - x.size(), x.size(), x) == 0;
  };
  *mean = 0.0;
  if (e.role == TensorRole::embedding || ends("image_newline")) {
    *std = 1.0;
  } else if (ends(".bias")) {
    *std = 0.02;
  } else if (e.shape.size() == 1) {  // norm weights and class_embedding
    if (ends("class_embedding")) {
      *std = 0.1;
    } else {
      *mean = 1.0;
      *std = 0.05;
    }
  } else if (ends("position_embedding.weight")) {
    *std = 0.1;
  } else {  // [out, in, ...]: fan-in scaling
    int64_t fan_in = 1;
    for (size_t i = 1; i < e.shape.size(); ++i) fan_in *= e.shape[i];
    *std = 1.0 / std::sqrt(static_cast<double>(fan_in));
  }
}

// bf16 values of one released-layout tensor, from the stream seeded by (seed, name).
std::vector<uint16_t> random_values(const ExpectedTensor& e, uint64_t seed) {
  SplitMix64 rng(seed ^ fnv1a(e.name));
  double mean = 0, std = 1;
  init_params(e, &mean, &std);
  std::vector<uint16_t> v(static_cast<size_t>(shape_numel(e.shape)));
  for (auto& x : v) x = f32_to_bf16(static_cast<float>(mean + std * rng.normal()));
  return v;
}

Tensor bf16_tensor(const Shape& shape, const std::vector<uint16_t>& values) {
  Tensor t = Tensor::empty(shape, DType::bf16);
  MVL_ASSERT(values.size() * 2 == t.nbytes());
  std::copy(values.begin(), values.end(), t.data<uint16_t>());
  return t;
}

void write_json(const fs::path& p, const Json& j) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  MVL_CHECK(static_cast<bool>(f), io, "cannot write '{}'", p.string());
  f << j.dump(2) << "\n";
  MVL_CHECK(static_cast<bool>(f), io, "short write to '{}'", p.string());
}

// Maps a released name to its native name (spec §1.5); experts are fused separately.
std::string native_name(const std::string& n) {
  auto repl = [&n](const std::string& from, const std::string& to) -> std::string {
    return n.substr(0, from.size()) == from ? to + n.substr(from.size()) : std::string();
  };
  for (auto [from, to] : {std::pair<const char*, const char*>{"language_model.lm_head.", "lm_head."},
                          {"language_model.model.", "model.language_model."},
                          {"vision_tower.vision_model.", "model.vision_tower."},
                          {"multi_modal_projector.", "model.multi_modal_projector."}}) {
    std::string r = repl(from, to);
    if (!r.empty()) {
      const auto pos = r.find("block_sparse_moe.gate.");
      if (pos != std::string::npos) r.replace(pos, std::string("block_sparse_moe.gate.").size(), "mlp.gate.");
      return r;
    }
  }
  if (n == "image_newline") return "model.image_newline";
  return n;
}

}  // namespace

TokenizerFacts read_tokenizer_facts(const std::string& path) {
  const Json j = json::parse_file(path);
  const std::string what = "tokenizer '" + path + "'";
  TokenizerFacts f;
  std::map<std::string, int64_t> ids;
  if (auto m = j.find("model"); m != j.end() && m->is_object()) {
    if (auto v = m->find("vocab"); v != m->end() && v->is_object())
      for (auto it = v->begin(); it != v->end(); ++it)
        if (it->is_number_integer()) ids[it.key()] = it->get<int64_t>();
  }
  if (auto a = j.find("added_tokens"); a != j.end() && a->is_array())
    for (const auto& t : *a) ids[json::get_string(t, "content", what + " added_tokens")] = json::get_int(t, "id", what);
  MVL_CHECK(!ids.empty(), bad_format, "{}: no model.vocab or added_tokens; is this a tokenizer.json?", what);
  for (const auto& [_, id] : ids) f.num_tokens = std::max(f.num_tokens, id + 1);
  auto id_of = [&ids](const char* s) { auto it = ids.find(s); return it == ids.end() ? int64_t{-1} : it->second; };
  f.image_token = id_of("<image>");
  f.eos_token = id_of("<end_of_sentence>");
  f.bos_token = id_of("<beginning_of_sentence>");
  f.unk_token = id_of("<end_of_document>");
  MVL_CHECK(f.image_token >= 0, bad_format, "{}: has no '<image>' token; the VL model needs one", what);
  MVL_CHECK(f.eos_token >= 0, bad_format, "{}: has no '<end_of_sentence>' token (the EOS)", what);
  return f;
}

ModelConfig tiny_config(const TokenizerFacts& tok) {
  ModelConfig c = ModelConfig::released();
  auto& t = c.text;
  t.vocab_size = (tok.num_tokens + 63) / 64 * 64;
  t.hidden_size = 64;
  t.num_hidden_layers = 4;
  t.layer_types = {llm::AttnKind::lightning, llm::AttnKind::lightning, llm::AttnKind::lightning,
                   llm::AttnKind::softmax};
  t.num_attention_heads = 4;
  t.num_key_value_heads = 2;
  t.head_dim = 16;
  t.rotary_dim = 8;
  t.intermediate_size = 96;
  t.num_local_experts = 4;
  t.num_experts_per_tok = 2;
  t.max_position_embeddings = 8192;
  // DeepNorm alpha = (2 * layers)^(1/4), the rule that gives the release's 3.5566 at 80 layers.
  const double alpha = std::pow(2.0 * static_cast<double>(t.num_hidden_layers), 0.25);
  t.full_attn_alpha = t.linear_attn_alpha = t.mlp_alpha = alpha;
  t.full_attn_beta = t.linear_attn_beta = t.mlp_beta = 1.0;
  auto& v = c.vision;
  v.hidden_size = 32;
  v.intermediate_size = 64;
  v.num_hidden_layers = 2;
  v.num_attention_heads = 2;
  v.image_size = 336;
  v.patch_size = 14;
  v.hidden_act = "gelu";
  c.image_token_index = tok.image_token;
  c.validate("tiny config");
  return c;
}

std::string minimax_vl_chat_template() {
  // Jinja; every literal is an expression so whitespace control cannot eat the newlines.
  return R"TPL({%- for message in messages -%}
{%- if message['role'] == 'function' -%}
{%- if message['content'] is string -%}{%- set response = message['content'] -%}{%- else -%}{%- set response = message['content'][0]['text'] -%}{%- endif -%}
{{- '<beginning_of_sentence>system function_response=functions\n{"name": "' + message['name'] + '", "response": ' + response + '}<end_of_sentence>\n' -}}
{%- else -%}
{%- if message['role'] == 'system' -%}{{- '<beginning_of_sentence>system ai_setting=assistant\n' -}}
{%- elif message['role'] == 'assistant' -%}{{- '<beginning_of_sentence>ai name=assistant\n' -}}
{%- else -%}{{- '<beginning_of_sentence>user name=user\n' -}}{%- endif -%}
{%- if message['content'] is string -%}{{- message['content'] -}}
{%- else -%}{%- for item in message['content'] -%}
{%- if item['type'] == 'image' -%}{{- '<image>' -}}{%- elif item['type'] == 'text' -%}{{- item['text'] -}}{%- endif -%}
{%- endfor -%}{%- endif -%}
{{- '<end_of_sentence>\n' -}}
{%- endif -%}
{%- endfor -%}
{%- if tools -%}{%- for tool in tools -%}{{- '<beginning_of_sentence>system function_setting=functions\n' + (tool | tojson) + '<end_of_sentence>\n' -}}{%- endfor -%}{%- endif -%}
{%- if add_generation_prompt -%}{{- '<beginning_of_sentence>ai name=assistant\n' -}}{%- endif -%})TPL";
}

std::vector<std::string> write_tiny_model(const TinyModelOptions& opt) {
  MVL_CHECK(!opt.out_dir.empty(), invalid_argument, "make-tiny needs an output directory (--out DIR)");
  const TokenizerFacts tok = read_tokenizer_facts(opt.tokenizer_path);
  ModelConfig cfg = tiny_config(tok);
  if (tok.bos_token >= 0) cfg.text.bos_token_id = tok.bos_token;
  const fs::path out(opt.out_dir);
  std::error_code ec;
  fs::create_directories(out, ec);
  MVL_CHECK(!ec, io, "cannot create '{}': {}", out.string(), ec.message());

  // Weights: generated in the released layout, then renamed/fused for native.
  std::map<std::string, Tensor> tensors;
  const auto expected = expected_tensors(cfg, CheckpointLayout::released);
  const bool native = opt.layout == CheckpointLayout::native;
  std::map<std::string, std::vector<uint16_t>> expert_parts;  // released expert name -> values
  for (const auto& e : expected) {
    auto values = random_values(e, opt.seed);
    if (native && e.role == TensorRole::expert) {
      expert_parts[e.name] = std::move(values);
      continue;
    }
    tensors[native ? native_name(e.name) : e.name] = bf16_tensor(e.shape, values);
  }
  if (native) {
    // gate_up_proj[e] = [w1 (gate) rows ; w3 (up) rows], down_proj[e] = w2 (spec §1.5).
    const auto& t = cfg.text;
    const size_t IH = static_cast<size_t>(t.intermediate_size * t.hidden_size);
    for (int64_t l = 0; l < t.num_hidden_layers; ++l) {
      const std::string rp = "language_model.model.layers." + std::to_string(l) + ".block_sparse_moe.experts.";
      const std::string np = "model.language_model.layers." + std::to_string(l) + ".mlp.experts.";
      std::vector<uint16_t> gate_up, down;
      for (int64_t e = 0; e < t.num_local_experts; ++e) {
        const std::string ep = rp + std::to_string(e) + ".";
        for (const char* w : {"w1", "w3"}) {
          const auto& part = expert_parts.at(ep + w + ".weight");
          MVL_ASSERT(part.size() == IH);
          gate_up.insert(gate_up.end(), part.begin(), part.end());
        }
        const auto& w2 = expert_parts.at(ep + "w2.weight");
        down.insert(down.end(), w2.begin(), w2.end());
      }
      tensors[np + "gate_up_proj"] =
          bf16_tensor({t.num_local_experts, 2 * t.intermediate_size, t.hidden_size}, gate_up);
      tensors[np + "down_proj"] = bf16_tensor({t.num_local_experts, t.hidden_size, t.intermediate_size}, down);
    }
  }

  std::vector<std::string> files;
  if (opt.sharded) {
    // Shard 1: the language model; shard 2: vision tower, projector, image_newline.
    const std::string shard_names[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
    SafetensorsWriter w[2];
    std::map<std::string, std::string> weight_map;
    size_t total = 0;
    for (const auto& [name, t] : tensors) {
      const bool text = name.rfind("language_model.", 0) == 0 || name.rfind("model.language_model.", 0) == 0 ||
                        name.rfind("lm_head.", 0) == 0;
      w[text ? 0 : 1].add(name, t);
      weight_map[name] = shard_names[text ? 0 : 1];
      total += t.nbytes();
    }
    for (int i = 0; i < 2; ++i) {
      w[i].set_metadata("format", "pt");
      w[i].write((out / shard_names[i]).string());
      files.push_back(shard_names[i]);
    }
    write_safetensors_index((out / "model.safetensors.index.json").string(), weight_map, total);
    files.push_back("model.safetensors.index.json");
  } else {
    SafetensorsWriter w;
    for (const auto& [name, t] : tensors) w.add(name, t);
    w.set_metadata("format", "pt");
    w.write((out / "model.safetensors").string());
    files.push_back("model.safetensors");
  }

  write_json(out / "config.json", cfg.to_json(opt.layout));
  write_json(out / "preprocessor_config.json", cfg.preprocessor_json());
  Json gen;
  gen["eos_token_id"] = tok.eos_token;
  if (tok.bos_token >= 0) gen["bos_token_id"] = tok.bos_token;
  gen["do_sample"] = false;
  write_json(out / "generation_config.json", gen);
  Json tc;
  tc["tokenizer_class"] = "GPT2Tokenizer";
  tc["add_prefix_space"] = false;
  tc["clean_up_tokenization_spaces"] = false;
  tc["eos_token"] = "<end_of_sentence>";
  if (tok.bos_token >= 0) tc["bos_token"] = "<beginning_of_sentence>";
  if (tok.unk_token >= 0) tc["unk_token"] = "<end_of_document>";
  tc["model_max_length"] = cfg.text.max_position_embeddings;
  tc["chat_template"] = minimax_vl_chat_template();
  write_json(out / "tokenizer_config.json", tc);
  const fs::path tok_dst = out / "tokenizer.json";
  if (!fs::exists(tok_dst, ec) || !fs::equivalent(opt.tokenizer_path, tok_dst, ec)) {
    fs::copy_file(opt.tokenizer_path, tok_dst, fs::copy_options::overwrite_existing, ec);
    MVL_CHECK(!ec, io, "cannot copy '{}' to '{}': {}", opt.tokenizer_path, tok_dst.string(), ec.message());
  }
  for (const char* f : {"config.json", "preprocessor_config.json", "generation_config.json", "tokenizer.json",
                        "tokenizer_config.json"})
    files.push_back(f);
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace mvl::engine
