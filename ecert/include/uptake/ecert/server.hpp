#pragma once
// The reference e-certificate service over HTTP/1.1 (Boost.Beast): keep-alive, timeouts for slow
// or stuck clients, limits on header and body sizes, graceful shutdown. Asio and Beast stay
// inside server.cpp so that this header is cheap to include.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "uptake/ecert/service.hpp"

namespace uptake::ecert {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;                  // 0: the system picks a free port (see HttpServer::port)
  unsigned threads = 0;                       // 0: the hardware's concurrency
  std::size_t header_limit = 8 * 1024;        // bytes; beyond: 431
  std::size_t body_limit = 64 * 1024;         // bytes; beyond: 413
  std::chrono::seconds request_timeout{10};   // a request must arrive whole within this
  std::chrono::seconds idle_timeout{30};      // a keep-alive connection may idle this long
  std::chrono::seconds drain_timeout{10};     // on shutdown, how long in-flight requests may take
  bool tls = false;                           // HTTPS instead of HTTP
  std::string tls_certificate;                // PEM files; both empty with tls: a self-signed pair
  std::string tls_key;                        // is generated in memory for this run
};

class HttpServer {
 public:
  // Opens the service and binds the listening socket (so port() is known before run()).
  // Throws InputError when the address cannot be bound or the data directory cannot be used.
  HttpServer(ServerOptions options, ServiceConfig service);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;

  // From now on SIGINT and SIGTERM begin the shutdown (once run() runs). Call it before telling
  // anyone the server is up: a signal that came between that and run() would otherwise end the
  // process by its default action, without the commit.
  void stop_on_signals();
  // Serves until stop() or, when `handle_signals`, SIGINT/SIGTERM; then stops accepting,
  // finishes in-flight requests, commits, and returns.
  void run(bool handle_signals);
  // Any thread: begins the shutdown that run() completes.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace uptake::ecert
