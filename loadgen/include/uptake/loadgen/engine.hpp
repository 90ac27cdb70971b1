#pragma once
// The open-loop HTTP engine: one io_context, connection pool and set of histograms per thread,
// merged at the end. Every request is sent at its intended time from the arrival schedule; when
// no connection is free it waits, and the wait counts in its response time (no coordinated
// omission). Asio and Beast stay inside engine.cpp.
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "uptake/base/civil_time.hpp"
#include "uptake/loadgen/live_metrics.hpp"
#include "uptake/loadgen/request_plan.hpp"
#include "uptake/loadgen/run_result.hpp"
#include "uptake/sim/arrivals.hpp"

namespace uptake::loadgen {

struct Progress {
  double elapsed_seconds = 0;
  double total_seconds = 0;
  std::uint64_t completed = 0;
  std::uint64_t errors = 0;
  double rate = 0;           // completions per second over the last interval
  double p99_ms = 0;         // response time p99 of the last whole second (0: none yet)
};

// After a stop (EngineOptions::stop), how long requests in flight may take to finish before
// the run ends without them.
inline constexpr std::chrono::seconds kStopDrain{2};

// Why a run ended early under --abort-on-fail: the threshold that can no longer hold.
struct AbortReason {
  std::string threshold;  // as written: "p99<200ms"
  std::string reason;     // why it cannot hold any more, for people
};

// --streams' default: the number of concurrent streams HTTP/2 servers commonly allow.
inline constexpr unsigned kDefaultStreams = 100;
// --streams' bound: HTTP/2 allows 2^31 - 1, but a load generator's requests are held in memory.
inline constexpr unsigned kMostStreams = 1000;

struct EngineOptions {
  Target target;
  unsigned threads = 1;
  unsigned connections = 64;            // cap on open connections, over all threads
  // HTTP/2 (--http2): h2 by ALPN for https targets, h2c with prior knowledge for http ones,
  // with up to `streams` concurrent requests per connection (fewer when the server's SETTINGS
  // say so). A request waiting for a free stream waits in the same queue, and its wait counts.
  bool http2 = false;
  unsigned streams = kDefaultStreams;
  bool closed_loop = false;             // --rate max: each connection sends again on each answer
  Pacing pacing = Pacing::sleep;        // open loop only
  std::chrono::microseconds batch_window = kDefaultBatchWindow;  // sleep pacing (--batch-window)
  Seconds closed_loop_duration{10};
  Seconds connect_timeout{5};
  Seconds request_timeout{10};
  unsigned warmup_requests = 0;         // per thread, before the clock starts: seeds captures
  std::uint64_t seed = 1;
  // Open loop: the schedule for one thread; the engine passes each thread its own shard.
  std::function<sim::ArrivalSchedule(sim::Shard)> make_schedule;
  std::vector<std::uint64_t> planned_per_endpoint;  // filled by the caller for reporting
  std::atomic<bool>* stop = nullptr;    // set (by a signal handler) to stop sending and drain for at most kStopDrain
  std::function<void(const Progress&)> on_progress;  // about once a second, from the calling thread
  // --abort-on-fail: about once a second from abort_after on, from the calling thread, the
  // figures so far of each endpoint (counters and response times; service times are left
  // empty). A reason ends the run early: sending stops as after a stop, and the rest of the
  // schedule still counts as planned. Each thread publishes its figures once a second only
  // when this is set.
  std::function<std::optional<AbortReason>(const std::vector<EndpointResult>&)> abort_when;
  Seconds abort_after{5};
  // Live metrics: about once a second from the calling thread, the figures so far (each thread
  // publishes them once a second only when this or abort_when is set), and once at the end the
  // final ones (LiveFigures::finished), equal to the result's.
  std::function<void(const LiveFigures&)> on_live_figures;
};

// The schedule the engine draws for `plan` over `window` of `model`: arrivals of requests, or,
// with journeys, arrivals of sessions (each then sends its own requests).
sim::ArrivalSchedule schedule_for(const RequestPlan& plan, const sim::RateModel& model, const sim::ReplayWindow& window, std::uint64_t seed, sim::Shard shard);

// Runs to the end of the schedule (or the closed-loop duration, or a stop) and returns the
// merged result. Throws InputError when the target cannot be resolved, and, before the measured
// part, when the warm-up left a capture that a flow needs empty although the target answered
// (the error names the capture, its JSON pointer and the flow, and shows an answer).
RunResult run_engine(const EngineOptions& options, const RequestPlan& plan);

}  // namespace uptake::loadgen
