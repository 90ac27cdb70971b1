#pragma once
// Running a piece of a test, or a program, in a child process with a time limit, and reading its
// peak memory: for inputs that once hung (a FIFO, an endless schedule) or took gigabytes (an alias
// bomb, a large CSV). A test of such a case must not hang or exhaust the machine itself when the
// fault comes back: the child is killed at its deadline, and its peak resident set is the kernel's
// own count (wait4's ru_maxrss), so no sampling can miss a short peak.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace uptake::test {

struct ChildOutcome {
  bool timed_out = false;     // killed at the deadline
  int exit_code = -1;         // when it exited by itself; -1 when a signal ended it
  int signal = 0;             // the signal that ended it, if any
  long peak_rss_kib = 0;      // its largest resident set
};

// Runs `body` in a forked child whose exit code is body's return value. `before_deadline` is
// called once (in the parent) after `signal_after`, if the child still runs: to send it SIGINT,
// for instance.
inline ChildOutcome run_in_child(const std::function<int()>& body, std::chrono::milliseconds deadline,
                                 std::chrono::milliseconds signal_after = std::chrono::milliseconds::max(),
                                 int signal_to_send = SIGINT) {
  const pid_t child = ::fork();
  if (child == 0) {
    int code = 125;
    try {
      code = body();
    } catch (...) {
      code = 124;
    }
    ::_exit(code);
  }
  ChildOutcome outcome;
  if (child < 0) return outcome;
  const auto started = std::chrono::steady_clock::now();
  bool signalled = false;
  int status = 0;
  rusage usage{};
  for (;;) {
    const pid_t done = ::wait4(child, &status, WNOHANG, &usage);
    if (done == child) break;
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    if (!signalled && elapsed >= signal_after) {
      ::kill(child, signal_to_send);
      signalled = true;
    }
    if (elapsed >= deadline) {
      outcome.timed_out = true;
      ::kill(child, SIGKILL);
      ::wait4(child, &status, 0, &usage);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  outcome.peak_rss_kib = usage.ru_maxrss;
  return outcome;
}

// Runs `program` with `arguments` in a child, its standard output and error into `output_file`.
inline ChildOutcome run_program(const std::string& program, const std::vector<std::string>& arguments, const std::string& output_file,
                                std::chrono::milliseconds deadline,
                                std::chrono::milliseconds signal_after = std::chrono::milliseconds::max(), int signal_to_send = SIGINT) {
  return run_in_child(
      [&] {
        const int out = ::open(output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out >= 0) {
          ::dup2(out, 1);
          ::dup2(out, 2);
        }
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(program.c_str()));
        for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
        argv.push_back(nullptr);
        ::execv(program.c_str(), argv.data());
        return 127;
      },
      deadline, signal_after, signal_to_send);
}

// The peak resident set of a child that does nothing: what it holds of this process from the
// fork. A child's own growth is its peak less this (a sanitizer's runtime makes it hundreds of MiB).
inline long idle_child_peak_rss_kib() {
  return run_in_child([] { return 0; }, std::chrono::seconds(10)).peak_rss_kib;
}

// This process's peak resident set so far (as VmHWM in /proc/self/status), in KiB.
inline long own_peak_rss_kib() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// A memory figure of a running process from /proc/PROCESS/status, in bytes: `process` is a pid
// or "self", `field` such as "VmRSS" (resident now) or "VmHWM" (the most resident so far).
inline std::size_t process_status_bytes(const std::string& process, const std::string& field) {
  std::ifstream status("/proc/" + process + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;  // stated in kB
  }
  return 0;
}

}  // namespace uptake::test
