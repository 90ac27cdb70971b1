#include "uptake/workflow/embedded_service.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include "uptake/base/input_error.hpp"
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

void aim_at_scenario_target(const sim::Scenario& scenario, const std::string& target_url, loadgen::EngineOptions& engine,
                            std::optional<EmbeddedService>& embedded, const std::function<void(std::string_view)>& notice) {
  if (scenario.http2) engine.http2 = true;
  if (target_url.empty()) {
    if (engine.http2) {
      throw InputError(scenario.http2 ? scenario.http_where : InputLocation{}, scenario.http2 ? "http" : "--http2",
                       "asks for HTTP/2, and the embedded reference service speaks HTTP/1.1 only",
                       "--target URL of a server that speaks HTTP/2 (h2 for https://, h2c for http://), or HTTP/1.1 (http: 1.1, no --http2)");
    }
    embedded.emplace();
    if (notice) notice(fmt::format("no --target, so the embedded reference service serves at {}", embedded->url()));
  }
  engine.target = loadgen::parse_target_or_throw(embedded ? embedded->url() : target_url, "--target");
}

}  // namespace uptake::workflow
