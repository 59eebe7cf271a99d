// The desktop's background model loader and its --device parser (see model_loader.h).
#include "app/desktop/model_loader.h"

#include <cctype>
#include <new>

#include "app/engine/loading/load_progress.h"
#include "kernels/core/error.h"

namespace mvl::desktop {

EngineFactory default_engine_factory() {
  return [](const engine::EngineOptions& o, const engine::LoadProgressFn& p) {
    return engine::Engine::open(o, p);
  };
}

void parse_device(const std::string& spec, engine::EngineOptions& opts) {
  if (spec == "cpu") {
    opts.backend = engine::Backend::cpu;
    opts.device = 0;
    return;
  }
  if (spec == "cuda") {
    opts.backend = engine::Backend::cuda;
    opts.device = 0;
    return;
  }
  const std::string prefix = "cuda:";
  bool ok = spec.size() > prefix.size() && spec.size() <= prefix.size() + 3 &&
            spec.compare(0, prefix.size(), prefix) == 0;
  for (size_t i = prefix.size(); ok && i < spec.size(); ++i)
    ok = std::isdigit(static_cast<unsigned char>(spec[i])) != 0;
  MVL_CHECK(ok, invalid_argument, "device '{}' is not one of cpu, cuda, cuda:N", spec);
  opts.backend = engine::Backend::cuda;
  opts.device = std::stoi(spec.substr(prefix.size()));
}

std::string device_name(const engine::EngineOptions& opts) {
  if (opts.backend == engine::Backend::cpu) return "cpu";
  return "cuda:" + std::to_string(opts.device);
}

ModelLoader::~ModelLoader() {
  if (thread_.joinable()) thread_.join();
}

void ModelLoader::start(EngineFactory factory, engine::EngineOptions opts,
                        std::unique_ptr<engine::Engine> retire, std::function<void()> wake) {
  MVL_CHECK(!thread_.joinable(), invalid_argument, "a model is already loading; wait for it to finish");
  {
    std::lock_guard<std::mutex> lock(mu_);
    progress_ = Progress{0, "starting", ""};
    result_.reset();
  }
  // The thread owns copies of everything it uses; it only touches mu_-guarded members.
  thread_ = std::thread([this, factory = std::move(factory), opts = std::move(opts),
                         retire = std::move(retire), wake = std::move(wake)]() mutable {
    retire.reset();  // cancels the old engine's requests and joins its worker
    Result r;
    try {
      r.engine = factory(opts, [&](const engine::LoadProgress& p) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          progress_ = Progress{p.fraction, p.stage, engine::describe_load_bytes(p)};
        }
        if (wake) wake();
      });
      if (!r.engine) r.error = "the model factory returned no engine";
    } catch (const std::bad_alloc&) {
      r.error = "out of host memory while loading '" + opts.model_dir + "'; close other programs or pick a smaller model";
    } catch (const std::exception& e) {
      r.error = e.what();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      result_ = std::move(r);
    }
    if (wake) wake();
  });
}

ModelLoader::Progress ModelLoader::progress() const {
  std::lock_guard<std::mutex> lock(mu_);
  return progress_;
}

bool ModelLoader::result_ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  return result_.has_value();
}

std::optional<ModelLoader::Result> ModelLoader::take_result() {
  if (!thread_.joinable() || !result_ready()) return std::nullopt;
  thread_.join();  // the thread is past its last lock: this returns at once
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<Result> r = std::move(result_);
  result_.reset();
  return r;
}

}  // namespace mvl::desktop
