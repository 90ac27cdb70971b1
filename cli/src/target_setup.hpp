#pragma once
// What `run` and `capacity` share before their first request: the target (a URL, or the
// reference service embedded on loopback), the ad hoc request of --url/--method/--body/--header,
// the results folder's default name, and stopping cleanly on SIGINT/SIGTERM.
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "command.hpp"
#include "uptake/loadgen/engine.hpp"
#include "uptake/loadgen/request_plan.hpp"
#include "uptake/loadgen/target.hpp"

namespace uptake::ecert {
class HttpServer;
}

namespace uptake::cli {

// The reference e-certificate service on 127.0.0.1 at an ephemeral port, with its data in a
// temporary folder, from construction to destruction (which stops it and removes the data).
class EmbeddedService {
 public:
  explicit EmbeddedService(const std::string& command);  // prints "uptake COMMAND: no --target, ..."
  ~EmbeddedService();
  EmbeddedService(const EmbeddedService&) = delete;
  EmbeddedService& operator=(const EmbeddedService&) = delete;
  const std::string& url() const { return url_; }

 private:
  std::filesystem::path data_;
  std::unique_ptr<ecert::HttpServer> server_;
  std::thread thread_;
  std::string url_;
};

// Parses a target URL; InputError naming `field` when it is not one.
loadgen::Target target_of(const std::string& url, const char* field);

// --method, --body and --header (repeatable, 'Name: value') for an ad hoc request.
void declare_ad_hoc_request(po::options_description& options);
loadgen::RequestPlan ad_hoc_plan(const po::variables_map& values, const loadgen::Target& target);

// --threads, --connections, --warmup, --lag-bound, --connect-timeout, --timeout and --pacing: how the
// engine reaches the target, the same for `run` and for each trial of `capacity`.
void declare_engine_options(po::options_description& options);
// Fills `engine` from those options and returns the lag bound in seconds; InputError naming the
// option when a value is out of range.
double engine_options_of(const po::variables_map& values, loadgen::EngineOptions& engine);

// "results/NAME-YYYYMMDD-HHMMSS" (UTC), with "-2", "-3"... when that folder exists: a new
// folder per run.
std::string default_folder(const std::string& name);

// --force: a results folder that holds another run's files is emptied of them (see
// loadgen::claim_results_folder) instead of refused.
void declare_force_option(po::options_description& options);

// While alive, a first SIGINT or SIGTERM sets stop_flag() instead of killing the process, so the
// engine stops sending, drains for at most loadgen::kStopDrain, and the partial results are
// written (and judged untrusted: exit 3). A second one ends the process at once, with exit 3.
class StopOnSignal {
 public:
  StopOnSignal();
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
  static std::atomic<bool>* stop_flag();
};

}  // namespace uptake::cli
