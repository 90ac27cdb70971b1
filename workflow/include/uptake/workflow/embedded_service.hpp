#pragma once
// The reference e-certificate service on 127.0.0.1 at an ephemeral port, with its data in a
// temporary folder, from construction to destruction (which stops it and removes the data):
// the default target of `run` and `capacity` when no --target is given.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "uptake/loadgen/engine.hpp"
#include "uptake/sim/scenario.hpp"

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

// Where a scenario's run (or capacity trial) sends its traffic, set in `engine`: --target
// (`target_url`) when given, else the embedded reference service, started into `embedded` and
// announced through `notice`. A scenario's `http: 2` makes the engine speak HTTP/2; the
// embedded service speaks HTTP/1.1 only, so that needs a --target (InputError otherwise).
void aim_at_scenario_target(const sim::Scenario& scenario, const std::string& target_url, loadgen::EngineOptions& engine,
                            std::optional<EmbeddedService>& embedded, const std::function<void(std::string_view)>& notice);

}  // namespace uptake::workflow
