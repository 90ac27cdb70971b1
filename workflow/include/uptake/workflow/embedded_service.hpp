#pragma once
// The reference e-certificate service on 127.0.0.1 at an ephemeral port, with its data in a
// temporary folder, from construction to destruction (which stops it and removes the data):
// the default target of `run` and `capacity` when no --target is given.
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

namespace uptake::ecert {
class HttpServer;
}

namespace uptake::workflow {

class EmbeddedService {
 public:
  EmbeddedService();
  ~EmbeddedService();
  EmbeddedService(const EmbeddedService&) = delete;
  EmbeddedService& operator=(const EmbeddedService&) = delete;
  const std::string& url() const { return url_; }  // "http://127.0.0.1:PORT"

 private:
  std::filesystem::path data_;
  std::unique_ptr<ecert::HttpServer> server_;
  std::thread thread_;
  std::string url_;
};

}  // namespace uptake::workflow
