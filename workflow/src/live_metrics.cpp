#include "uptake/workflow/live_metrics.hpp"

#include <fmt/format.h>

#include <chrono>
#include <thread>

namespace uptake::workflow {

LiveMetrics::LiveMetrics(const LiveMetricsRequest& request, const std::function<void(std::string_view)>& notice) : request_(request) {
  if (!request.listen) return;
  server_.emplace(*request.listen);
  const auto& host = request.listen->host;
  if (notice) notice(fmt::format("live metrics at http://{}:{}/metrics", host.find(':') != std::string::npos ? "[" + host + "]" : host, server_->port()));
}

void LiveMetrics::attach(loadgen::EngineOptions& engine, const loadgen::LiveContext& context) {
  if (!server_) return;
  context_ = context;
  server_->update(context_);
  engine.on_live_figures = [this](const loadgen::LiveFigures& figures) { server_->update(figures); };
}

void LiveMetrics::trial(double rate_rps, std::uint64_t number) {
  if (!server_) return;
  context_.trial_rate_rps = rate_rps;
  context_.trial = number;
  server_->update(context_);
}

void LiveMetrics::linger(const std::atomic<bool>* stop) const {
  if (!server_) return;
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(request_.linger);
  while (std::chrono::steady_clock::now() < until && !(stop && stop->load())) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

}  // namespace uptake::workflow
