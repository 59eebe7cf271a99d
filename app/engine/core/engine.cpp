// The Engine: request queue + runner threads started on demand. A runner holds the
// scheduler's baton while it runs engine code, so only one thread at a time touches the model
// and the model states; the queue and the handles are the only other shared data.
#include "app/engine/core/engine.h"

#include <algorithm>
#include <chrono>

#include "app/engine/core/request_runner.h"
#include "kernels/core/log.h"

namespace mvl::engine {

const char* backend_name(Backend b) { return b == Backend::cuda ? "cuda" : "cpu"; }

bool RequestHandle::finished() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->finished;
}

void RequestHandle::wait() const {
  std::unique_lock<std::mutex> lock(s_->mu);
  s_->cv.wait(lock, [&] { return s_->finished; });
}

bool RequestHandle::wait_for(int timeout_ms) const {
  std::unique_lock<std::mutex> lock(s_->mu);
  return s_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return s_->finished; });
}

Engine::Engine(LoadedModel model, EngineOptions opts, double load_ms)
    : model_(std::move(model)), opts_(std::move(opts)), load_ms_(load_ms) {
  // The codec may be missing (a checkpoint without tokenizer.json): raw requests only.
  MVL_CHECK(model_.lm != nullptr, invalid_argument, "an Engine needs at least a language model");
  MVL_CHECK(opts_.max_running >= 1, invalid_argument, "the engine needs at least one runner");
  model_.lm->set_prefill_ubatch(opts_.prefill_ubatch);
  // Prompt positions per step: one prefill chunk's worth (512 when chunking is off).
  sched_ = std::make_unique<StepScheduler>(*model_.lm,
                                           opts_.prefill_chunk > 0 ? opts_.prefill_chunk : 512);
  model_.lm = std::make_unique<ScheduledLm>(std::move(model_.lm), *sched_);
  set_max_image_tokens(opts_.max_image_tokens);
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& j : queue_) j.state->cancel.store(true);
    for (auto& r : running_) r->cancel.store(true);
  }
  cv_.notify_all();
  for (std::thread& t : workers_)
    if (t.joinable()) t.join();
}

int64_t Engine::max_context() const {
  return opts_.max_context > 0 ? opts_.max_context : model_.lm->max_context();
}

std::shared_ptr<Session> Engine::new_session(std::string system_prompt) const {
  return std::make_shared<Session>(std::move(system_prompt));
}

std::shared_ptr<const PreparedImage> Engine::prepare_image(const std::string& path) const {
  MVL_CHECK(model_.vision != nullptr, unsupported,
            "the model in '{}' has no vision tower, so it cannot take images", model_.info.dir);
  return model_.vision->prepare(path);
}

TileMap Engine::tile_map(int64_t width, int64_t height) const {
  MVL_CHECK(model_.vision != nullptr, unsupported,
            "the model in '{}' has no vision tower, so it cannot take images", model_.info.dir);
  return model_.vision->tile_map(width, height);
}

void Engine::set_max_image_tokens(int64_t n) {
  max_image_tokens_ = std::max<int64_t>(0, n);
  if (model_.vision) model_.vision->set_max_image_tokens(max_image_tokens_);
}

TileMap VisionEncoder::tile_map(int64_t, int64_t) const {
  throw_error(ErrorCategory::unsupported, "this vision encoder has no tile map");
}

Tensor VisionEncoder::encode_staged(const PreparedImage& image, const CancelCheck& cancelled, EncodeStages& t) {
  const double t0 = now_ms();
  Tensor rows = encode(image, cancelled);
  t.vit_ms = now_ms() - t0;
  t.project_ms = 0;
  return rows;
}

RequestHandle Engine::submit(Request r) {
  MVL_CHECK(r.session != nullptr || r.kind == Request::Kind::raw, invalid_argument,
            "a request needs a session");
  auto state = std::make_shared<RequestState>();
  if (r.session) r.session->in_flight_.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      if (r.session) r.session->in_flight_.fetch_sub(1);
      throw_error(ErrorCategory::invalid_argument, "the engine is shutting down");
    }
    queue_.push_back(Job{std::move(r), state, now_ms()});
    // One more runner when the queued jobs outnumber the idle runners (up to max_running): a
    // job waits only for a runner or for its own session's earlier request. (Counting idle
    // runners alone let a burst of submits share the runners already idle: B requests after a
    // warm-up ran one or two at a time, found by bench --batch on an H100 in session 9.)
    if (static_cast<int>(queue_.size()) > idle_ && static_cast<int>(workers_.size()) < opts_.max_running)
      workers_.emplace_back([this] { worker_loop(); });
  }
  cv_.notify_all();
  return RequestHandle(state);
}

size_t Engine::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

std::deque<Engine::Job>::iterator Engine::next_job() {
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    const Session* s = it->request.session.get();
    if (!s || std::find(busy_sessions_.begin(), busy_sessions_.end(), s) == busy_sessions_.end())
      return it;
  }
  return queue_.end();
}

void Engine::worker_loop() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++idle_;
      cv_.wait(lock, [&] { return (stopping_ && queue_.empty()) || next_job() != queue_.end(); });
      --idle_;
      const auto it = next_job();
      if (it == queue_.end()) return;  // stopping and drained
      job = std::move(*it);
      queue_.erase(it);
      running_.push_back(job.state);
      if (job.request.session) busy_sessions_.push_back(job.request.session.get());
    }
    run_job(job);
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_.erase(std::find(running_.begin(), running_.end(), job.state));
      if (job.request.session)
        busy_sessions_.erase(
            std::find(busy_sessions_.begin(), busy_sessions_.end(), job.request.session.get()));
    }
    cv_.notify_all();  // that session's next request may run now
  }
}

void Engine::run_job(Job& job) {
  Request& r = job.request;
  const double queue_ms = now_ms() - job.submitted_ms;
  std::optional<DoneEvent> done;
  std::optional<ErrorEvent> error;
  // Holds the scheduler's baton from here to the final event (released while this request
  // waits for a batched decode step or its prefill turn).
  sched_->enter();
  struct Leave {
    StepScheduler& s;
    ~Leave() { s.leave(); }
  } leave{*sched_};
  try {
    if (job.state->cancel.load()) {
      // Cancelled while queued: nothing ran, nothing changed.
      done.emplace();
      done->reason = StopReason::cancelled;
      done->timings.load_ms = load_ms_;
    } else {
      RequestRunner runner(model_, opts_, load_ms_);
      done = r.kind == Request::Kind::raw ? runner.run_raw(r, job.state->cancel)
                                          : runner.run(r, job.state->cancel);
    }
    done->timings.queue_ms = queue_ms;
  } catch (const InputError& e) {
    error = ErrorEvent{e, ErrorPhase::input};
  } catch (const Error& e) {
    error = ErrorEvent{e, ErrorPhase::runtime};
  } catch (const std::bad_alloc&) {
    error = ErrorEvent{Error(ErrorCategory::out_of_memory, "out of host memory while generating"),
                       ErrorPhase::runtime};
  } catch (const std::exception& e) {
    error = ErrorEvent{Error(ErrorCategory::internal, e.what()), ErrorPhase::runtime};
  }
  // The final event goes out before the handle reports finished, so a front end that
  // waits on the handle has seen every event.
  try {
    if (r.on_event) {
      if (done) r.on_event(*done);
      else r.on_event(*error);
    }
  } catch (const std::exception& e) {
    MVL_LOG_ERROR("an event callback threw: {}", e.what());
  }
  if (r.session) r.session->in_flight_.fetch_sub(1);
  {
    std::lock_guard<std::mutex> lock(job.state->mu);
    job.state->done = std::move(done);
    job.state->error = std::move(error);
    job.state->finished = true;
  }
  job.state->cv.notify_all();
}

}  // namespace mvl::engine
