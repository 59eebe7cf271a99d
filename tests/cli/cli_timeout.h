// run_cli with a deadline, for tests of inputs that once made the CLI hang (a FIFO as a
// config file, endless stdin): the child gets alarm(timeout_s) before exec, so a hang ends
// as exit code 142 (SIGALRM) and fails the test instead of the whole suite.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/support/test_util.h"

namespace mvl::test {

inline CliResult run_cli_timed(const std::vector<std::string>& args, const std::string& stdin_text,
                               int timeout_s) {
  const std::string dir = temp_dir("cli_timed");
  const std::string in = dir + "/stdin", out = dir + "/stdout", err = dir + "/stderr";
  write_text(in, stdin_text);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fi = ::open(in.c_str(), O_RDONLY);
    const int fo = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fe = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fi, 0);
    ::dup2(fo, 1);
    ::dup2(fe, 2);
    std::vector<std::string> copy = args;
    std::string exe = MVL_CLI_PATH;
    std::vector<char*> argv{exe.data()};
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::alarm(static_cast<unsigned>(timeout_s));  // survives execv
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

}  // namespace mvl::test
