#pragma once
// The reference service in this test's process, on a free loopback port, for tests that speak
// HTTP to it.
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "uptake/ecert/server.hpp"

namespace uptake::test {

// Runs a server on a free loopback port for the lifetime of the object.
class RunningServer {
 public:
  RunningServer(std::filesystem::path data_dir, ecert::ServerOptions options = {}, std::vector<ecert::SyntheticEndpoint> synthetic = {}, unsigned workers = 1) {
    options.host = "127.0.0.1";
    options.drain_timeout = std::chrono::seconds(2);
    options.port = 0;
    options.threads = 2;
    ecert::ServiceConfig config;
    config.data_dir = std::move(data_dir);
    config.synthetic = std::move(synthetic);
    config.workers = workers;
    config.seed = 7;
    server_ = std::make_unique<ecert::HttpServer>(options, config);
    thread_ = std::thread([this] { server_->run(false); });
  }
  ~RunningServer() {
    server_->stop();
    thread_.join();
  }
  std::uint16_t port() const { return server_->port(); }

 private:
  std::unique_ptr<ecert::HttpServer> server_;
  std::thread thread_;
};

}  // namespace uptake::test
