// Load progress by bytes (engine.h's LoadProgress): a meter that counts weight bytes as the
// loaders read them (Checkpoint::get, once per tensor name) or upload them to a GPU
// (llm::TextLoadOptions::on_upload), and reports to the front end's callback at most every
// ~0.5% of the bytes and at each stage change. Used by load_checkpoint (checkpoint.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "app/engine/core/engine.h"
#include "kernels/core/safetensors.h"

namespace mvl::engine {

// "1.5 GB", "12.0 MB", "900 B" (powers of 1000, as disk sizes are quoted).
std::string human_bytes(double bytes);
// "0:07", "12:34", "1:02:03".
std::string human_duration(double seconds);
// The bytes part of a load's progress for any front end: "1.2 GB / 2.9 GB  850.0 MB/s  ETA 0:02"
// (no rate or ETA before the first bytes or once all are read; "" before the checkpoint is
// opened).
std::string describe_load_bytes(const LoadProgress& p);

class LoadMeter {
 public:
  explicit LoadMeter(LoadProgressFn fn);
  ~LoadMeter();  // closes: later counts (a Checkpoint copy kept by a model) report nothing

  // A stage before the weights (config, tokenizer, checkpoint) at a fixed fraction.
  void step(const std::string& stage, double fraction);
  // From now on, tensors handed out by `ckpt` count once per name; its total is bytes_total.
  void attach(Checkpoint& ckpt);
  // Whether Checkpoint::get counts (off while a GPU upload, which counts with add(), is
  // where the bytes are really read).
  void count_gets(bool on);
  // Bytes loaded by other means (the GPU upload hook).
  void add(uint64_t bytes);
  // The weights stage now running ("text model", "vision").
  void weights(const std::string& stage);
  // Everything loaded: bytes_done = bytes_total, fraction 1, stage "ready".
  void finish();

  struct State;

 private:
  std::shared_ptr<State> s_;
};

}  // namespace mvl::engine
