#pragma once
// Test helpers for targets that misbehave below HTTP: a loopback listener that never accepts,
// and this process's resident memory (the bound that hostile-target tests assert).
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "child_process.hpp"

namespace uptake::test {

// A listener on 127.0.0.1 that never accepts: the kernel completes connections into its backlog
// and takes their requests, and no answer ever comes; once `backlog` connections wait, further
// SYNs are dropped and a connect never completes. Closed when destroyed.
struct SilentListener {
  int descriptor = -1;
  sockaddr_in address{};
  std::string url;
  explicit SilentListener(int backlog = 64) {
    descriptor = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(descriptor >= 0);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(descriptor, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(descriptor, backlog) == 0);
    REQUIRE(::getsockname(descriptor, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    url = "http://127.0.0.1:" + std::to_string(port()) + "/";
  }
  ~SilentListener() { ::close(descriptor); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  std::uint16_t port() const { return ntohs(address.sin_port); }
};

// This process's resident memory in bytes.
inline std::size_t resident_bytes() { return process_status_bytes("self", "VmRSS"); }

}  // namespace uptake::test
