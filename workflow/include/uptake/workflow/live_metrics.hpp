#pragma once
// --metrics-listen and --metrics-linger of `run` and `capacity`: the live metrics endpoint
// (loadgen::MetricsServer), started before the warm-up, fed by the engine about once a second,
// and kept up for a while after the results are written, so that a scraper sees the final
// figures (uptake_run_finished 1) before the process ends.
#include <atomic>
#include <functional>
#include <optional>
#include <string_view>

#include "uptake/base/duration.hpp"
#include "uptake/loadgen/engine.hpp"
#include "uptake/loadgen/metrics_server.hpp"

namespace uptake::workflow {

struct LiveMetricsRequest {
  std::optional<loadgen::ListenAddress> listen;  // empty: no endpoint
  Seconds linger{0};                             // after the results are written
};

class LiveMetrics {
 public:
  // Listens (InputError when it cannot) and says where, when `request` asks for an endpoint.
  LiveMetrics(const LiveMetricsRequest& request, const std::function<void(std::string_view)>& notice);
  bool enabled() const { return server_.has_value(); }
  // The engine feeds the endpoint; `context` labels what the run is.
  void attach(loadgen::EngineOptions& engine, const loadgen::LiveContext& context);
  // capacity: the trial under way.
  void trial(double rate_rps, std::uint64_t number);
  // Waits for the linger time, or until `stop` is set.
  void linger(const std::atomic<bool>* stop) const;

 private:
  LiveMetricsRequest request_;
  std::optional<loadgen::MetricsServer> server_;
  loadgen::LiveContext context_;
};

}  // namespace uptake::workflow
