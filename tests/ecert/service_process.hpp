#pragma once
// `uptake serve` as a child process of a test, on a free loopback port: for tests that kill it,
// restart it, or starve it of descriptors.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "child_process.hpp"

namespace uptake::test {

// `uptake serve` as a child process of this test, on a free loopback port.
class ServiceProcess {
 public:
  // `descriptor_limit` > 0: the child's RLIMIT_NOFILE, so that a test can exhaust it.
  explicit ServiceProcess(const std::filesystem::path& data_dir, rlim_t descriptor_limit = 0) {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      if (descriptor_limit > 0) {
        const rlimit limit{descriptor_limit, descriptor_limit};
        ::setrlimit(RLIMIT_NOFILE, &limit);
      }
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      const std::string binary = std::string(UPTAKE_BINARY_DIR) + "/cli/uptake";
      const std::string data = data_dir.string();
      ::execl(binary.c_str(), binary.c_str(), "serve", "--listen", "127.0.0.1:0", "--threads", "2", "--data", data.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(out[1]);
    // The first line names the port: "uptake serve: listening on http://127.0.0.1:PORT ...".
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    output_ = out[0];
    const auto at = line.find("127.0.0.1:");
    REQUIRE(at != std::string::npos);
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(at + 10)));
  }
  ~ServiceProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(output_);
  }
  void kill_hard() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  int terminate() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

  // The most resident memory the service has had so far (VmHWM), in bytes.
  std::size_t peak_memory_bytes() const { return process_status_bytes(std::to_string(pid_), "VmHWM"); }

 private:
  pid_t pid_ = -1;
  int output_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace uptake::test
