#include "target_setup.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>

#include "uptake/base/input_error.hpp"
#include "uptake/ecert/server.hpp"

namespace uptake::cli {
namespace {

std::atomic<bool> stop_requested{false};
extern "C" void request_stop(int) { stop_requested.store(true); }

}  // namespace

EmbeddedService::EmbeddedService(const std::string& command) {
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
  fmt::print("uptake {}: no --target, so the embedded reference service serves at {}\n", command, url_);
  std::fflush(stdout);  // before the progress lines on standard error
}

EmbeddedService::~EmbeddedService() {
  server_->stop();
  thread_.join();
  server_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(data_, ignored);
}

loadgen::Target target_of(const std::string& url, const char* field) {
  std::string problem;
  const auto target = loadgen::parse_target(url, problem);
  if (!target) throw InputError({}, field, problem, "a URL such as http://127.0.0.1:8080");
  return *target;
}

void declare_ad_hoc_request(po::options_description& options) {
  options.add_options()("method", po::value<std::string>()->default_value("GET"), "ad hoc: HTTP method")(
      "body", po::value<std::string>(), "ad hoc: request body")("header", po::value<std::vector<std::string>>()->composing(), "ad hoc: 'Name: value' (repeatable)");
}

loadgen::RequestPlan ad_hoc_plan(const po::variables_map& values, const loadgen::Target& target) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (values.count("header")) {
    for (const auto& header : values["header"].as<std::vector<std::string>>()) {
      const auto colon = header.find(':');
      if (colon == std::string::npos || colon == 0) throw InputError({}, "--header", fmt::format("'{}' is not 'Name: value'", header), "a header such as 'Content-Type: application/json'");
      auto value = header.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      headers.emplace_back(header.substr(0, colon), value);
    }
  }
  return loadgen::plan_ad_hoc(target, values["method"].as<std::string>(), values.count("body") ? values["body"].as<std::string>() : "", headers);
}

std::string default_folder(const std::string& name) {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  return fmt::format("results/{}-{:04}{:02}{:02}-{:02}{:02}{:02}", name, utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

StopOnSignal::StopOnSignal() {
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
}

StopOnSignal::~StopOnSignal() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

std::atomic<bool>* StopOnSignal::stop_flag() { return &stop_requested; }

}  // namespace uptake::cli
