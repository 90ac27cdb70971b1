#include "uptake/workflow/embedded_service.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include "uptake/ecert/server.hpp"

namespace uptake::workflow {

EmbeddedService::EmbeddedService() {
  data_ = std::filesystem::temp_directory_path() / fmt::format("uptake-ecert-{}", ::getpid());
  std::filesystem::remove_all(data_);
  ecert::ServerOptions server_options;
  server_options.port = 0;
  server_options.threads = 1;
  ecert::ServiceConfig service;
  service.data_dir = data_;
  server_ = std::make_unique<ecert::HttpServer>(server_options, service);
  thread_ = std::thread([this] { server_->run(false); });
  url_ = fmt::format("http://127.0.0.1:{}", server_->port());
}

EmbeddedService::~EmbeddedService() {
  server_->stop();
  thread_.join();
  server_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(data_, ignored);
}

}  // namespace uptake::workflow
