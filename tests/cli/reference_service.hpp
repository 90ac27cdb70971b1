#pragma once
// The reference e-certificate service as an ad hoc target for CLI tests (`--url`).
#include <memory>
#include <string>
#include <thread>

#include "temporary_directory.hpp"
#include "uptake/ecert/server.hpp"

namespace cli_test {

// The reference service on an ephemeral loopback port, serving from a thread of this process.
class ReferenceService {
 public:
  explicit ReferenceService(const std::string& purpose = "cli") : data_(purpose) {
    uptake::ecert::ServerOptions options;
    options.port = 0;
    options.threads = 1;
    uptake::ecert::ServiceConfig service;
    service.data_dir = data_.path();
    server_ = std::make_unique<uptake::ecert::HttpServer>(options, service);
    thread_ = std::thread([this] { server_->run(false); });
  }
  ~ReferenceService() {
    server_->stop();
    thread_.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server_->port()) + path; }

 private:
  uptake::test::TemporaryDirectory data_;
  std::unique_ptr<uptake::ecert::HttpServer> server_;
  std::thread thread_;
};

}  // namespace cli_test
