// Writes the tiny random checkpoint (see tiny_model.h). Per-tensor init scales keep a
// forward pass sane: linear weights N(0, 1/in), norm weights 1 + N(0, 0.05^2), biases
// N(0, 0.02^2), token embeddings and image_newline N(0, 1), the CLIP class and position
// embeddings N(0, 0.1^2). Values are rounded to bf16 (RNE). Names and shapes: the two halves'
// tensor tables.
#include "app/engine/inspect/tiny_model.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "app/engine/loading/checkpoint_layout.h"
#include "kernels/core/error.h"
#include "kernels/core/safetensors.h"
#include "llm/weights/tensor_table.h"
#include "vision/model/tensor_table.h"

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

struct Init {
  double mean = 0.0, std = 1.0;
};

// N(0, 1/fan_in) for a weight [out, in, ...].
Init fan_in(const Shape& shape) {
  int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return {0.0, 1.0 / std::sqrt(static_cast<double>(n))};
}

// Init rule per tensor (see the file comment), by the tables' roles.
Init text_init(llm::TextRole role, const Shape& shape) {
  switch (role) {
    case llm::TextRole::embedding:
      return {0.0, 1.0};
    case llm::TextRole::final_norm:
    case llm::TextRole::input_norm:
    case llm::TextRole::post_attention_norm:
    case llm::TextRole::lightning_norm:
      return {1.0, 0.05};
    default:
      return fan_in(shape);
  }
}

Init vision_init(const vision::VisionTensor& t) {
  if (t.role == vision::VisionRole::image_newline) return {0.0, 1.0};
  if (t.bias) return {0.0, 0.02};
  if (t.role == vision::VisionRole::class_embedding ||
      t.role == vision::VisionRole::position_embedding)
    return {0.0, 0.1};
  if (t.shape.size() == 1) return {1.0, 0.05};  // LayerNorm weights
  return fan_in(t.shape);
}

// bf16 values of one tensor, from the stream seeded by (seed, its released-layout name).
std::vector<uint16_t> random_values(const std::string& released_name, const Shape& shape, Init init,
                                    uint64_t seed) {
  SplitMix64 rng(seed ^ fnv1a(released_name));
  std::vector<uint16_t> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& x : v) x = f32_to_bf16(static_cast<float>(init.mean + init.std * rng.normal()));
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

  // Weights: each tensor's values come from its released-layout name, so both layouts hold the
  // same numbers; the native layout stacks the per-expert ones (spec §1.5).
  const CheckpointLayout layout = opt.layout;
  const llm::TextWeightNaming released = text_naming(CheckpointLayout::released);
  std::map<std::string, Tensor> tensors;
  std::set<std::string> text_names;  // the language model's tensors (shard 1)
  llm::for_each_text_tensor(cfg.text, text_naming(layout), [&](const llm::TextTensor& t) {
    text_names.insert(t.name);
    if (t.role != llm::TextRole::experts_w13 && t.role != llm::TextRole::experts_w2) {
      const std::string rn = llm::text_tensor_name(released, t.role, t.layer, t.expert);
      tensors[t.name] =
          bf16_tensor(t.shape, random_values(rn, t.shape, text_init(t.role, t.shape), opt.seed));
      return;
    }
    // gate_up_proj[e] = [w1 (gate) rows ; w3 (up) rows], down_proj[e] = w2.
    const int64_t E = t.shape[0];
    const Shape part{t.shape[1] / (t.role == llm::TextRole::experts_w13 ? 2 : 1), t.shape[2]};
    std::vector<uint16_t> all;
    all.reserve(static_cast<size_t>(shape_numel(t.shape)));
    for (int64_t e = 0; e < E; ++e) {
      for (llm::TextRole r :
           t.role == llm::TextRole::experts_w13
               ? std::vector<llm::TextRole>{llm::TextRole::expert_w1, llm::TextRole::expert_w3}
               : std::vector<llm::TextRole>{llm::TextRole::expert_w2}) {
        const auto v = random_values(llm::text_tensor_name(released, r, t.layer, e), part,
                                     text_init(r, part), opt.seed);
        all.insert(all.end(), v.begin(), v.end());
      }
    }
    tensors[t.name] = bf16_tensor(t.shape, all);
  });
  if (cfg.has_vision) {
    const vision::VisionWeightNames vreleased = vision_naming(CheckpointLayout::released);
    vision::for_each_vision_tensor(
        cfg.vision, vision_naming(layout), cfg.text.hidden_size,
        [&](const vision::VisionTensor& t) {
          const std::string rn = vision::vision_tensor_name(vreleased, t.role, t.bias, t.layer);
          tensors[t.name] =
              bf16_tensor(t.shape, random_values(rn, t.shape, vision_init(t), opt.seed));
        });
  }

  std::vector<std::string> files;
  if (opt.sharded) {
    // Shard 1: the language model; shard 2: vision tower, projector, image_newline.
    const std::string shard_names[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
    SafetensorsWriter w[2];
    std::map<std::string, std::string> weight_map;
    size_t total = 0;
    for (const auto& [name, t] : tensors) {
      const bool text = text_names.count(name) > 0;
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
