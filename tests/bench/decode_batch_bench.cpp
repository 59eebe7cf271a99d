// Batched decode on the CPU: llm::TextModel::decode_batch over B sequences (each prefilled with
// its own 32-token prompt) vs one decode() per step, for B = 1, 8, 32, 64 on the bundled tiny
// model (or a model dir), printing per-sequence and aggregate tok/s. The model-side ceiling of
// the server's continuous batching (tools/server/loadgen.py adds HTTP, sampling, events).
// Wall time and process CPU time (the dev machine is shared: CPU time is the steadier one).
// Usage: decode_batch_bench [model_dir] [steps=64]
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/core/clock.h"
#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "llm/config/text_config.h"
#include "llm/model/text_model.h"
#include "tests/support/test_util.h"

int main(int argc, char** argv) {
  using namespace mvl;
  const std::string dir = argc > 1 ? argv[1] : test::source_path("assets/models/tiny-random");
  const int steps = argc > 2 ? std::atoi(argv[2]) : 64;
  const Checkpoint ckpt = Checkpoint::open(dir);
  const json::Json root = json::parse_file(dir + "/config.json");
  const json::Json& tc = root.contains("text_config") ? root["text_config"] : root;
  const llm::TextConfig cfg = llm::TextConfig::from_json(tc, dir + "/config.json");
  const llm::TextModel m = llm::TextModel::load(ckpt, cfg, llm::TextWeightNaming::detect(ckpt));
  std::printf("model %s: %lld layers, hidden %lld, vocab %lld; %d steps per B (median of 3)\n",
              dir.c_str(), static_cast<long long>(cfg.num_hidden_layers),
              static_cast<long long>(cfg.hidden_size), static_cast<long long>(cfg.vocab_size),
              steps);
  std::printf("%-6s %12s %14s %14s %14s %10s\n", "B", "step ms", "tok/s per seq", "tok/s all",
              "CPU tok/s all", "x B=1");
  double base = 0;
  for (int B : {1, 8, 32, 64}) {
    std::vector<double> wall, cpu;
    for (int rep = 0; rep < 3; ++rep) {
      std::vector<llm::SequenceState> st;
      std::vector<llm::SequenceState*> ptr;
      for (int b = 0; b < B; ++b) {
        st.push_back(m.new_state());
        std::vector<int32_t> ids;
        for (int i = 0; i < 32; ++i) ids.push_back((b * 131 + i * 17 + 3) % 3000);
        m.prefill({llm::Segment::tokens(ids)}, st.back());
      }
      for (auto& s : st) ptr.push_back(&s);
      std::vector<int32_t> tok(static_cast<size_t>(B), 5);
      const double w0 = now_ms() * 1e-3, c0 = process_cpu_ms() * 1e-3;
      for (int t = 0; t < steps; ++t) {
        for (int b = 0; b < B; ++b) tok[static_cast<size_t>(b)] = (t * 7 + b) % 3000;
        if (B == 1)
          m.decode(tok[0], *ptr[0]);
        else
          m.decode_batch(tok, ptr);
      }
      wall.push_back((now_ms() * 1e-3 - w0) / steps);
      cpu.push_back((process_cpu_ms() * 1e-3 - c0) / steps);
    }
    std::sort(wall.begin(), wall.end());
    std::sort(cpu.begin(), cpu.end());
    const double step = wall[1], agg = B / step;
    if (B == 1) base = agg;
    std::printf("%-6d %12.3f %14.1f %14.1f %14.1f %10.2f\n", B, step * 1e3, 1.0 / step, agg,
                B / cpu[1], agg / base);
  }
  return 0;
}
