#pragma once
// What a run measured, merged over its threads: histograms (never sample lists, so memory stays
// flat however long the run), counters by endpoint and error class, and one-second intervals.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptake/loadgen/hdr_histogram.hpp"

namespace uptake::loadgen {

// Latencies are recorded in nanoseconds, from 1 ns to one hour, at 3 significant digits.
HdrHistogram make_latency_histogram();

// Failure classes: counted, and the run goes on. check_failed: an answer that a flow's checks
// refused (an unexpected status below 400, or an expected status with a body that fails a JSON
// or body check). unsafe_value: a request not sent because a value inserted into a header held
// CR, LF or NUL, which would have injected a header line. redirect: a redirect its flow follows
// that could not be followed: to another origin than the target, or past the flow's limit.
// HTTP/2 only: stream_reset, the server reset the request's stream (RST_STREAM) other than to
// refuse it unprocessed; goaway, the server's GOAWAY named an error and left the stream
// unprocessed (a graceful GOAWAY's, and a refused stream's, request is sent once more on
// another connection, and counts only if refused again); flow_control, the request timed out
// while its body waited for the server's flow-control window.
enum class ErrorClass : std::size_t {
  connect,
  timeout,
  reset,
  tls,
  protocol,
  http_4xx,
  http_5xx,
  missing_capture,
  wait_timeout,
  check_failed,
  unsafe_value,
  redirect,
  stream_reset,
  goaway,
  flow_control,
  count
};
const char* to_string(ErrorClass error);

// How an open-loop thread waits for the next send time.
enum class Pacing {
  sleep,  // a timer: no CPU while waiting; lag is the wake-up latency (tens of µs, more on busy or virtual machines), and up to the batch window more where arrivals within it share a wake-up
  spin,   // a timer to 200 µs before, then polling: the least lag, for a core given to each generator thread
};
// With Pacing::sleep, how far after the next arrival due the arrivals may come that one wake-up
// sends with it (--batch-window). A sleep and a wake-up cost more than the rest of a request's
// work on a virtual machine; at a rate R a wake-up then sends 1 + R x window arrivals on average
// (2 at 10,000 req/s with the default, 4 at 30,000). A wider window costs less CPU per request
// and lets the first of each batch leave up to that much late, which its schedule lag records.
inline constexpr std::chrono::microseconds kDefaultBatchWindow{100};
inline constexpr std::chrono::microseconds kWidestBatchWindow{2000};
// "sleep" or "spin", as --pacing and summary.json's generator.pacing write them.
const char* to_string(Pacing pacing);
std::optional<Pacing> parse_pacing(std::string_view text);

// achieved_ratio, one definition for a run, a merge, a gate and a capacity step: the answers
// completed within the schedule's whole seconds over the requests it planned (a flow balance:
// while the target keeps up they differ by the few in flight at the end; when it falls behind,
// by its growing backlog). A closed loop has no schedule: its whole run counts. This is the
// number of leading seconds that count.
std::size_t achieved_window_seconds(double schedule_seconds, double duration_seconds);
double achieved_ratio(std::uint64_t completed_in_window, std::uint64_t planned);

// The share of attempted requests that failed. Every attempt ends either answered below 400, or
// as its flow's checks expect (ok), or as an error of some class, whether it was sent or failed
// before sending (missing_capture, wait_timeout, unsafe_value), so ok + errors counts the
// attempts exactly; requests that a
// stop dropped while they waited were never attempted. 0 when nothing was attempted.
double error_rate(std::uint64_t ok, std::uint64_t errors);

// The request counters every series carries (a run, an endpoint, a second, a capacity step, a
// row of timeseries.csv): one definition, added with +=.
struct RequestCounts {
  std::uint64_t planned = 0;     // arrivals in the schedule (this run's shard); by intended send time per second
  std::uint64_t sent = 0;        // taken by a connection
  std::uint64_t completed = 0;   // a response was read (any status)
  std::uint64_t ok = 0;          // completed with a 2xx or 3xx status, or as its flow's checks expect
  std::uint64_t errors = 0;      // failed: an error class, including 4xx and 5xx answers

  RequestCounts& operator+=(const RequestCounts& other) {
    planned += other.planned;
    sent += other.sent;
    completed += other.completed;
    ok += other.ok;
    errors += other.errors;
    return *this;
  }
  bool operator==(const RequestCounts&) const = default;
};

struct EndpointResult : RequestCounts {
  std::string name;
  std::uint64_t tampered = 0;    // sent with an altered captured value (negative path)
  std::uint64_t revoked = 0;     // sent with a value revoked in warm-up (negative path)
  std::uint64_t redirects = 0;   // redirects followed: more requests on the wire than counted (flows with redirects)
  HdrHistogram response_time = make_latency_histogram();  // from the intended send time
  HdrHistogram service_time = make_latency_histogram();   // from the actual send
  // The target's own time, as its Server-Timing header says (loadgen::ResponseParser), for the
  // responses that carry one: service_time less this is the network's and the generator's.
  HdrHistogram server_time = make_latency_histogram();

  void add(const EndpointResult& other);
};

// One second of the run, by intended send time (planned) and by completion time (the rest; ok
// is not kept per second).
struct Interval : RequestCounts {
  std::string response_time;  // V2-compressed histogram of the responses completed in this second
};

// The counts of the first `window` seconds of a series (achieved_window_seconds).
RequestCounts counts_in_window(const std::vector<Interval>& seconds, std::size_t window);

// A flow's check that refused an answer (RunResult::check_failure). At namespace scope, not
// nested in RunResult: clang cannot default-construct a nested class with member initializers
// inside an optional member of the class that encloses it.
struct CheckFailure {
  std::string flow;
  std::string check;   // as describe_check names it: "json /credential exists"
  int status = 0;
  std::string body;    // its first 160 bytes, anything unprintable as '.', "..." when cut
  bool operator==(const CheckFailure&) const = default;
};

// A run of journeys as sessions (loadgen::RunResult::sessions, summary.json "sessions").
struct SessionCounts {
  std::uint64_t started = 0;
  std::uint64_t completed = 0;   // walked to the journey's exit
  std::uint64_t abandoned = 0;   // ended early: a step needed a value the session never captured
  std::uint64_t unfinished = 0;  // still going when the schedule ended or a stop came
  std::uint64_t not_started = 0; // arrivals a stop left unsent
  void add(const SessionCounts& other) {
    started += other.started;
    completed += other.completed;
    abandoned += other.abandoned;
    unfinished += other.unfinished;
    not_started += other.not_started;
  }
  bool operator==(const SessionCounts&) const = default;
};

struct RunResult {
  std::string target;
  bool closed_loop = false;
  double planned_rate = 0;                  // requests per second the schedule asked for (open loop)
  double expected_planned = 0;              // integral of the rate over the run (this shard)
  std::chrono::system_clock::time_point started_at;
  double duration_seconds = 0;              // from the first intended send to the last completion
  double schedule_seconds = 0;              // length of the schedule
  bool interrupted = false;                 // stopped early (SIGINT): partial results; the unsent rest of the schedule still counts as planned
  bool planned_is_lower_bound = false;      // interrupted, and counting the unsent rest ran out of time
  // --abort-on-fail ended the run early, at aborted_at_seconds from its start, because this
  // threshold could no longer hold; empty otherwise. Not an interruption: the verdict is sure.
  std::string aborted_threshold;
  std::string aborted_reason;
  double aborted_at_seconds = 0;
  std::vector<EndpointResult> endpoints;
  HdrHistogram schedule_lag = make_latency_histogram();  // actual dispatch - intended send time
  std::array<std::uint64_t, static_cast<std::size_t>(ErrorClass::count)> errors{};
  std::vector<Interval> intervals;                        // the whole run, per second
  std::vector<std::vector<Interval>> endpoint_intervals;  // [endpoint][second]
  // The first failure a thread saw, for people: "HTTP 404 on verify: {\"error\":...}" (the
  // start of the body, printable), or the class and endpoint of one that had no answer.
  std::string sample_failure;
  // The first answer a thread saw that its flow's checks refused (check_failed), for people:
  // which flow, which check, the status and the start of the body (printable; environment
  // values removed). Empty when no check failed.
  using CheckFailure = loadgen::CheckFailure;
  std::optional<CheckFailure> check_failure;
  std::uint64_t waited_for_connection = 0;  // requests that found every connection busy
  // With journeys: how the sessions went. Every session that started ended in exactly one way.
  std::optional<SessionCounts> sessions;
  std::uint64_t connections_opened = 0;
  // The busiest generator thread's CPU time over its wall time from the start to its last
  // completion (0 to 1): near 1, a thread is saturated and sends late however the lag looks.
  double busiest_thread_fraction = 0;
  Pacing pacing = Pacing::sleep;  // how open-loop sends waited for their time (--pacing)
  std::chrono::microseconds batch_window = kDefaultBatchWindow;  // with sleep pacing (--batch-window)
  std::string protocol = "http/1.1";  // "http/1.1", "h2" (by ALPN over TLS) or "h2c" (prior knowledge)
  unsigned streams_per_connection = 1;  // HTTP/2: --streams; HTTP/1.1: 1

  EndpointResult total() const;
};

}  // namespace uptake::loadgen
