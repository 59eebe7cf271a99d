// A text-only checkpoint big enough that "one slice at a time" and "the whole model" differ
// by far (about 58 MiB of f32 weights, the largest slice 3 MiB), for the host-memory tests of
// the sharded loader (sharded_load_host_memory_test.cpp and its _cuda_ twin).
#pragma once

#include <string>

#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "kernels/ops/random.h"
#include "llm/config/text_config.h"
#include "llm/weights/tensor_table.h"
#include "tests/support/test_util.h"

namespace mvl::test {

struct WideCheckpoint {
  std::string dir;
  llm::TextConfig cfg;
  uint64_t text_bytes = 0;  // every tensor of the file
};

// The bundled tiny model's text config, widened: H 256, 8 heads of 32 (4 KV heads),
// 8 experts of 512, vocab 3008, 4 layers (3 lightning, 1 softmax); f32 weights in one
// safetensors file under the released per-expert names.
inline WideCheckpoint write_wide_checkpoint(const std::string& tag) {
  json::Json tc =
      json::parse_file(source_path("assets/models/tiny-random/config.json")).at("text_config");
  tc["hidden_size"] = 256;
  tc["head_dim"] = 32;
  tc["rotary_dim"] = 16;
  tc["num_attention_heads"] = 8;
  tc["num_key_value_heads"] = 4;
  tc["num_local_experts"] = 8;
  tc["intermediate_size"] = 512;
  WideCheckpoint w;
  w.dir = temp_dir(tag);
  w.cfg = llm::TextConfig::from_json(tc, "wide text_config");
  SafetensorsWriter out;
  uint64_t seed = 1;
  llm::for_each_text_tensor(w.cfg, llm::TextWeightNaming::released_text(),
                            [&](const llm::TextTensor& t) {
                              Tensor x = Tensor::empty(t.shape, DType::f32);
                              ops::fill_uniform_(x, seed++, -0.05f, 0.05f);
                              w.text_bytes += x.nbytes();
                              out.add(t.name, x);
                            });
  out.write(w.dir + "/model.safetensors");
  return w;
}

}  // namespace mvl::test
