// The server's private parts, shared by server.cpp (routing, auth, lifecycle) and
// completions.cpp (POST /v1/chat/completions). The only header with cpp-httplib types.
#pragma once

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>

#include "app/server/api_error.h"
#include "app/server/metrics.h"
#include "app/server/server.h"
#include "app/server/session_cache.h"

namespace mvl::server {

// Slots and the bounded wait queue. A request first reserves a place (refused at once when
// the queue is full), then waits for a slot; release() hands the slot on.
class Admission {
 public:
  Admission(int slots, int queue_limit) : slots_(slots), queue_limit_(queue_limit) {}
  bool reserve();    // false: the queue is full or the server is closing
  void unreserve();  // gave up while waiting (disconnect, error)
  // Waits up to timeout_ms for a slot for a reserved request: 1 = got it, 0 = not yet,
  // -1 = the server is closing (the reservation is dropped).
  int wait_slot(int timeout_ms);
  void release();  // frees a slot
  void close();    // wakes every waiter; reserve() fails from now on
  int64_t active() const;
  int64_t waiting() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int slots_, queue_limit_;
  int active_ = 0, waiting_ = 0;
  bool closing_ = false;
};

struct Job;  // completions.cpp

// cpp-httplib 0.11 (Debian 12) listens with a fixed backlog of 5, so a burst of clients gets
// connections reset. Linux lets listen() be called again on a listening socket to raise it.
class HttpServer : public httplib::Server {
 public:
  bool widen_backlog(int n) { return ::listen(svr_sock_, n) == 0; }
};

struct Server::Impl {
  Impl(engine::Engine& e, ServerOptions o);

  void routes();
  void handle_chat(const httplib::Request& req, httplib::Response& res);
  void send_error(httplib::Response& res, const ApiError& e, const std::string& endpoint);
  std::string next_id();
  // completions.cpp: submit the job (holding a slot), take its next event, release it.
  void begin(Job& job);
  std::optional<engine::Event> pop_event(Job& job, int timeout_ms);
  void finish(Job& job);

  // In-flight engine requests, so shutdown can cancel them.
  uint64_t track(const engine::RequestHandle& h);
  void untrack(uint64_t id);
  void cancel_all();

  engine::Engine& engine;
  ServerOptions opts;
  MediaResolver media;
  HttpServer http;
  Admission admission;
  Metrics metrics;
  SessionCache cache;
  std::atomic<bool> closing{false};
  std::atomic<uint64_t> counter{0};
  int64_t created = 0;  // server start, unix seconds (/v1/models)

  std::mutex handles_mu;
  std::map<uint64_t, engine::RequestHandle> handles;
  uint64_t next_handle = 0;
};

}  // namespace mvl::server
