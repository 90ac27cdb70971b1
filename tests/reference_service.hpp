#pragma once
// The reference e-certificate service in this process, on a free loopback port, serving from a
// thread of its own until destroyed: a real target for engine, capacity, merge and CLI tests.
// (Tests that kill, restart or starve the service run `uptake serve` as a child process instead:
// ecert/service_process.hpp.)
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "temporary_directory.hpp"
#include "uptake/ecert/server.hpp"

namespace uptake::test {

class ReferenceService {
 public:
  // `purpose` names its temporary data folder. `service` configures it as `uptake serve`'s
  // options do (synthetic endpoints, workers, seed); its data folder is filled in. One server
  // thread; `tls` serves HTTPS with a self-signed pair made at start-up.
  explicit ReferenceService(const std::string& purpose = "reference-service", ecert::ServiceConfig service = {}, bool tls = false)
      : data_(purpose), tls_(tls) {
    ecert::ServerOptions options;
    options.port = 0;
    options.threads = 1;
    options.tls = tls;
    service.data_dir = data_.path();
    server_ = std::make_unique<ecert::HttpServer>(options, service);
    thread_ = std::thread([this] { server_->run(false); });
  }
  ~ReferenceService() {
    server_->stop();
    thread_.join();
  }
  ReferenceService(const ReferenceService&) = delete;
  ReferenceService& operator=(const ReferenceService&) = delete;

  std::uint16_t port() const { return server_->port(); }
  // "http://127.0.0.1:PORT" + path ("https://" with tls).
  std::string url(const std::string& path = "") const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) + path;
  }

 private:
  TemporaryDirectory data_;
  bool tls_;
  std::unique_ptr<ecert::HttpServer> server_;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace uptake::test
