// Test harness for `minimax-vl serve`: starts the built CLI on 127.0.0.1 with a free port
// (--port 0, read back from its stdout), runs curl against it, and stops it with a signal.
// Every wait is bounded; nothing but loopback is contacted.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/test_util.h"

namespace mvl::test {

inline std::string tiny_model() {
  return source_path("assets/models/tiny-random");
}

// fork + exec with stdout/stderr to files (or stdout to a pipe when pipe_out != nullptr).
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& out_path,
                   const std::string& err_path, int* pipe_out = nullptr) {
  int fds[2] = {-1, -1};
  if (pipe_out && ::pipe(fds) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fo = pipe_out ? fds[1] : ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fe = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fi = ::open("/dev/null", O_RDONLY);
    ::dup2(fi, 0);
    ::dup2(fo, 1);
    ::dup2(fe, 2);
    if (pipe_out) ::close(fds[0]);
    std::vector<std::string> copy = argv;
    std::vector<char*> a;
    for (auto& s : copy) a.push_back(s.data());
    a.push_back(nullptr);
    ::execvp(a[0], a.data());
    ::_exit(127);
  }
  if (pipe_out) {
    ::close(fds[1]);
    *pipe_out = fds[0];
  }
  return pid;
}

// Waits up to timeout_ms; returns the exit code (128+signal), or -1 if still running.
inline int wait_exit(pid_t pid, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 20) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> extra = {}) {
    dir_ = temp_dir("serve");
    std::vector<std::string> argv = {MVL_CLI_PATH, "serve", "-m", tiny_model(), "--port", "0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    pid_ = spawn(argv, dir_ + "/stdout", dir_ + "/stderr");
    for (int i = 0; i < 1200 && port_ == 0; ++i) {  // up to 60 s for the model to load
      const std::string out = read_text(dir_ + "/stdout");
      const auto at = out.find("http://127.0.0.1:");
      if (at != std::string::npos && out.find('\n', at) != std::string::npos)
        port_ = std::stoi(out.substr(at + 17));
      else if (wait_exit(pid_, 0) >= 0)
        break;
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      wait_exit(pid_, 5000);
    }
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string stderr_text() const { return read_text(dir_ + "/stderr"); }
  // Sends `sig` and waits up to timeout_ms; the exit code, or -1 if it did not exit.
  int stop(int sig, int timeout_ms) {
    ::kill(pid_, sig);
    const int code = wait_exit(pid_, timeout_ms);
    exited_ = code >= 0;
    return code;
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_ = false;
};

struct HttpResult {
  int status = 0;
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

// curl with a bounded --max-time; `body` (if any) is POSTed as JSON from a file.
inline HttpResult curl(const std::string& url, const std::string& body = {},
                       std::vector<std::string> extra = {}, int max_time_s = 120) {
  const std::string dir = temp_dir("curl");
  std::vector<std::string> argv = {
      "curl", "-sS",         "-N", "--max-time",  std::to_string(max_time_s),
      "-o",   dir + "/body", "-w", "%{http_code}"};
  if (!body.empty() || url.find("/chat/") != std::string::npos) {
    write_text(dir + "/req", body);
    argv.insert(argv.end(),
                {"-H", "Content-Type: application/json", "--data-binary", "@" + dir + "/req"});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  const pid_t pid = spawn(argv, dir + "/code", dir + "/err");
  wait_exit(pid, (max_time_s + 10) * 1000);
  HttpResult r;
  const std::string code = read_text(dir + "/code");
  r.status = code.empty() ? 0 : std::stoi(code);
  r.body = read_text(dir + "/body");
  return r;
}

// The "data: " payloads of an SSE body, in order ("[DONE]" included; comments skipped).
inline std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string::npos) end = body.size();
    const std::string line = body.substr(pos, end - pos);
    if (line.rfind("data: ", 0) == 0) out.push_back(line.substr(6));
    pos = end + 1;
  }
  return out;
}

}  // namespace mvl::test
