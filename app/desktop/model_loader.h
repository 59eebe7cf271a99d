// Opens a model off the UI thread: Engine::open (or a test factory) runs on a loader
// thread; the UI polls progress and the result once per frame, so a slow or failing load
// never blocks or crashes the window. Also parses the desktop's --device spelling.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "app/engine/core/engine.h"

namespace mvl::desktop {

// How an Engine is made: Engine::open in the app, a fake model in tests.
using EngineFactory = std::function<std::unique_ptr<engine::Engine>(const engine::EngineOptions&,
                                                                    const engine::LoadProgressFn&)>;
EngineFactory default_engine_factory();  // Engine::open

// "cpu", "cuda" or "cuda:N" into opts.backend/device. Throws Error{invalid_argument}.
void parse_device(const std::string& spec, engine::EngineOptions& opts);
std::string device_name(const engine::EngineOptions& opts);  // the inverse

class ModelLoader {
 public:
  struct Progress {
    double fraction = 0;  // [0, 1]
    std::string stage;
    std::string bytes;    // "1.2 GB / 2.9 GB  850.0 MB/s  ETA 0:02" once the weights are counted
  };
  struct Result {
    std::unique_ptr<engine::Engine> engine;  // set on success
    std::string error;                       // set on failure (one line, what to do)
  };

  ModelLoader() = default;
  ~ModelLoader();  // joins the loader thread (a load cannot be interrupted)
  ModelLoader(const ModelLoader&) = delete;
  ModelLoader& operator=(const ModelLoader&) = delete;

  // Starts loading; `retire` (the previous engine, may be null) is destroyed on the loader
  // thread first, so joining its worker never stalls the UI. `wake` is called from the
  // loader thread after each progress step and at the end (may be empty).
  void start(EngineFactory factory, engine::EngineOptions opts,
             std::unique_ptr<engine::Engine> retire, std::function<void()> wake);
  bool running() const { return thread_.joinable() && !result_ready(); }
  bool active() const { return thread_.joinable(); }  // started and not collected yet
  Progress progress() const;
  // The result once the thread finished (then the loader is idle again); nullopt before.
  std::optional<Result> take_result();

 private:
  bool result_ready() const;

  mutable std::mutex mu_;
  Progress progress_;
  std::optional<Result> result_;
  std::thread thread_;
};

}  // namespace mvl::desktop
