#pragma once
// A scenario's demand measured from access logs: which endpoints are asked for and in what
// shares, when in the day, week and year, how sessions walk from endpoint to endpoint and pause
// between steps, and how bursty arrivals are beyond a Poisson process. Logs are read once, as a
// stream: memory grows with the number of endpoints, open sessions and the days the log spans,
// never with its lines.
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "uptake/base/duration.hpp"
#include "uptake/calibrate/access_log.hpp"
#include "uptake/calibrate/routes.hpp"
#include "uptake/sim/time_zone.hpp"

namespace uptake::calibrate {

// What makes requests one session's: the client address and user agent (the default), the
// address alone, a cookie's value, or (JSON logs) another field of the line.
struct SessionKey {
  enum class Kind { address_and_agent, address, cookie, field };
  Kind kind = Kind::address_and_agent;
  std::string name;  // cookie or field name
  std::string text;  // as given
};
// "ip+ua", "ip", "cookie:NAME", "header:NAME"; std::nullopt with `problem` set otherwise.
std::optional<SessionKey> parse_session_key(std::string_view text, std::string& problem);

enum class ModelKind { automatic, mix, journeys };

struct CalibrationOptions {
  LogFormat format = LogFormat::automatic;
  JsonFields json_fields;
  std::vector<RouteRule> routes;
  bool keep_query = false;
  bool exclude_static = false;
  bool exclude_bots = false;
  SessionKey session_key;
  Seconds session_timeout{1800};
  std::optional<sim::TimeZone> time_zone;  // --timezone; empty: the offsets the log wrote
  int profile_bins = 24;                   // 24 or 96
  ModelKind model = ModelKind::automatic;
  // Lines may come out of time order by this much (a server logs a request when it ends, so a
  // slow one is written after quicker ones that started later); later than that they still
  // count, but not in sessions' order or the per-second figures.
  std::chrono::seconds reorder_window{300};
};

// Where a few lines of one malformed reason were, for the message.
struct LinePlace {
  std::string file;
  std::uint64_t line = 0;
};

struct MalformedCount {
  Malformed reason = Malformed::none;
  std::uint64_t lines = 0;
  std::vector<LinePlace> first;  // at most 5
};

struct EndpointCount {
  Endpoint endpoint;
  std::uint64_t requests = 0;
  double share = 0;
  double share_standard_error = 0;  // binomial: sqrt(p (1 - p) / n)
};

// A relative weight with the observations behind it.
struct Factor {
  double value = 1;
  std::uint64_t requests = 0;  // requests counted for it
  int days = 0;                // whole local days behind it (weekday and month factors)
  bool measured = false;       // false: left at 1, the log cannot tell
};

struct Holiday {
  std::chrono::sys_days date;
  double ratio = 0;  // its requests over those of a usual day of its weekday and month
};

struct CalendarFit {
  std::string time_zone;                 // as the scenario writes it ("+09:00")
  std::vector<Factor> hour_profile;      // 24 or 96, mean 1
  std::array<Factor, 7> weekday;         // Monday first, mean 1 over measured weekdays
  std::array<Factor, 12> month;          // January first
  std::vector<Holiday> holidays;         // days far quieter than their weekday (check them)
  double holiday_factor = 1;             // the scenario's: replaces the weekday factor (mean ratio x weekday factor)
  int whole_days = 0;                    // local days the log covers from midnight to midnight
  std::chrono::sys_days first_day{}, last_day{};  // local dates of the first and last request
};

// How much of its span the log saw: a log sampled a few minutes an hour, or with gaps where
// rotation lost lines, undercounts the volume by that much.
struct Coverage {
  double span_seconds = 0;
  int minutes_of_hour_seen = 60;        // minutes of the hour with requests (a sampled log has fewer)
  std::vector<std::pair<std::int64_t, std::int64_t>> gaps;  // UTC seconds [from, to) with no requests where some were due
  double seen_fraction = 1;             // of the span's time
};

// The index of dispersion of counts in windows of `window_seconds`: the variance of the counts
// around the rate of their hour over that rate. 1 for a Poisson process; above 1, bursts.
struct Dispersion {
  double window_seconds = 0;
  double index = 1;
  double low = 1, high = 1;             // approximate 95% interval (hours as independent units)
  std::uint64_t windows = 0;
  double predicted = 1;                 // what the fitted burstiness model gives at this window
};

struct Burstiness {
  std::vector<Dispersion> dispersion;   // 1 s, 10 s, 60 s
  double interval_seconds = 60;         // the rate multiplier holds for this long
  double rate_cv = 0;                   // coefficient of variation of the gamma rate multiplier
  bool over_dispersed = false;          // the 60 s index's interval lies above 1
  std::uint64_t hours = 0;              // hours behind it
};

// The pause before a step, fitted to the gaps between a session's requests.
struct ThinkTimeFit {
  std::uint64_t gaps = 0;
  std::string kind;                     // "lognormal" or "exponential"; empty with no gaps
  double mean_seconds = 0;
  double sd_seconds = 0;
  double ks_distance = 0;               // largest gap between the empirical and fitted CDFs (binned)
  double aic_lognormal = 0, aic_exponential = 0;
  std::string distribution;             // "lognormal:20.1s,14.8s", for the scenario
};

struct SessionFit {
  std::uint64_t sessions = 0;
  std::uint64_t requests = 0;
  std::uint64_t open_at_end = 0;        // still open when the log ended (counted as ended there)
  std::uint64_t keyless = 0;            // requests without the cookie or field (keyed by address and agent)
  std::uint64_t most_open = 0;          // the most sessions open at once
  std::vector<std::uint64_t> length_counts;  // [n]: sessions of n requests (last: that many or more)
  // transitions[0]: from the session's start; [1 + e]: from endpoint e. Columns: endpoint e, and
  // the last one, exit.
  std::vector<std::vector<std::uint64_t>> transitions;
  std::vector<ThinkTimeFit> think_times;  // per endpoint: the pause before a request to it
  double chain_requests_per_session = 0;  // what the fitted chain expects
  double mean_requests_per_session() const { return sessions ? static_cast<double>(requests) / static_cast<double>(sessions) : 0; }
};

struct Calibration {
  std::vector<std::string> files;
  std::uint64_t lines = 0;
  std::uint64_t requests = 0;            // parsed and kept
  std::uint64_t excluded_static = 0;
  std::uint64_t excluded_bots = 0;
  std::uint64_t late = 0;                // later than the reorder window: counted, not in sessions or per-second figures
  std::vector<MalformedCount> malformed;  // reasons with at least one line
  std::int64_t first_utc_ms = 0, last_utc_ms = 0;
  std::vector<EndpointCount> endpoints;  // by requests, most first
  bool endpoints_overflowed = false;
  CalendarFit calendar;
  Coverage coverage;
  Burstiness burstiness;                 // of requests
  // Of session arrivals (journeys only): a journeys scenario draws sessions, whose requests then
  // cluster by the chain's pauses; over-dispersion of requests is partly that clustering, so the
  // arrival process is fitted to the sessions' first requests instead.
  Burstiness session_burstiness;
  SessionFit sessions;
  ModelKind model = ModelKind::mix;      // what the scenario is written with
  std::uint64_t peak_second_requests = 0;
  std::int64_t peak_second_utc = 0;
  std::int64_t first_local_hour = 0;     // local hours since the epoch of hourly_counts[0]
  std::vector<std::uint64_t> hourly_counts;  // per local clock hour over the span
  int year = 0;                          // the local year that holds most of the log
  double yearly_requests = 0;            // the log's requests annualised with the fitted calendar and coverage
  double peak_hour_requests = 0;         // the busiest local clock hour, scaled by coverage
  std::vector<std::string> warnings;
  CalibrationOptions options;

  std::uint64_t malformed_lines() const;
  // The burstiness of what the scenario draws: requests (mix) or session arrivals (journeys).
  const Burstiness& arrival_burstiness() const { return model == ModelKind::journeys ? session_burstiness : burstiness; }
};

// Reads the logs (any order; each plain or gzip) and measures them. Throws InputError when a
// file cannot be read, or when no line of any of them is a request.
Calibration calibrate_logs(const std::vector<std::string>& paths, const CalibrationOptions& options);

// The streaming core, for tests and benchmarks that feed records without files.
class Calibrator {
 public:
  explicit Calibrator(CalibrationOptions options);
  ~Calibrator();
  Calibrator(const Calibrator&) = delete;
  Calibrator& operator=(const Calibrator&) = delete;

  // Counts a request; Malformed::out_of_span (and nothing counted) when its time lies more than
  // kLongestSpanDays from the first request's, Malformed::none otherwise.
  Malformed add(const LogRecord& record);
  void add_malformed(Malformed reason, const std::string& file, std::uint64_t line);
  void add_line() { ++lines_; }
  // Ends the stream and fits the models. Call once.
  Calibration finish(std::vector<std::string> files);

 private:
  struct State;
  std::uint64_t lines_ = 0;
  State* state_;
};

std::string_view to_string(ModelKind kind);

}  // namespace uptake::calibrate
