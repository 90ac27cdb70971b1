#pragma once
// The scenario: a planner's written description of demand, as loaded and validated from YAML
// (see scenarios/README.md for the file format). Plain data; every invariant listed here is
// checked by load_scenario, so code that receives a Scenario may rely on it.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "uptake/base/civil_time.hpp"
#include "uptake/base/csv.hpp"
#include "uptake/base/duration_distribution.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/sim/time_zone.hpp"

namespace uptake::sim {

enum class GrowthModelKind { exponential, logistic, gompertz, bass, automatic };

// The volume measured over whole months [first, last], both inclusive: one month of a
// `monthly` history, or a longer stretch such as the half year after a launch.
struct PeriodVolume {
  int first_year = 0;
  int first_month = 0;  // 1..12
  int last_year = 0;
  int last_month = 0;   // 1..12; (last_year, last_month) >= (first_year, first_month)
  double volume = 0;    // > 0

  int months() const { return (last_year - first_year) * 12 + last_month - first_month + 1; }
};

// An assumption the planner is unsure of: a value somewhere in [low, high], most likely `likely`
// when given (low <= likely <= high). Projections spread it over the range (see projection.hpp).
struct ParameterRange {
  double low = 0;
  double high = 0;
  std::optional<double> likely;
};

// One measured demand series ("mobile e-certificates issued and submitted").
struct Series {
  std::string name;
  std::string unit;                       // free text for people ("issuances and submissions")
  std::map<int, double> yearly;           // year -> volume in that year (cumulative: the count at its end); all > 0
  // A stock (adopters, holders: yearly holds the count reached by each year's end) rather than
  // a flow (issuances, uses: the volume in each year). Its demand is what each year adds to the
  // stock. A cumulative series has yearly counts only, no periods.
  bool cumulative = false;
  std::vector<PeriodVolume> periods;      // monthly volumes and longer periods, chronological, not overlapping
                                          // (a series has yearly volumes, periods, or both)
  GrowthModelKind model = GrowthModelKind::automatic;
  std::optional<double> market_size;      // cap on the yearly volume, for saturating models
  std::optional<double> launch;           // bass: adoption start as a fractional year
  std::map<std::string, double> fixed;    // model parameters held at these values, not fitted ("q": 0.38)
  // Held parameters given as a range ("K" for a market size range): market_size or fixed holds
  // the range's central value, which the fit shown uses; projections spread over the range.
  std::map<std::string, ParameterRange> ranges;
  InputLocation where;                    // where the series was defined, for later messages

  // First and last calendar years with any measured volume (yearly or in a period).
  int first_year() const;
  int last_year() const;
  // The measured volume of `year`: its yearly total, or else the sum of its months in periods
  // when they cover the whole year from the launch on (a period across a year end counts pro
  // rata by months). A cumulative series: the count at the year's end less the count at the
  // previous year's end. Empty when the year is not fully measured.
  std::optional<double> measured_volume(int year) const;
};

struct Growth {
  GrowthModelKind model = GrowthModelKind::automatic;  // default for series that do not set one
  int project_to_year = 0;     // last projected year (>= last history year)
  double interval_level = 0.9; // two-sided prediction interval level, in (0, 1)
  int bootstrap_samples = 400; // parametric bootstrap draws for the interval
};

// A date that comes back every year: a fixed month and day (01-15), or the nth weekday of a
// month (the second Monday of January; nth = -1 for the last).
struct YearlyDate {
  unsigned month = 1;    // 1..12
  unsigned day = 0;      // fixed date: 1..31; 0 for a weekday rule
  unsigned weekday = 0;  // weekday rule: ISO numbering, Monday = 1 ... Sunday = 7
  int nth = 0;           // weekday rule: 1..5, or -1 for the last in the month

  // Its date in `year`; empty when it does not occur that year (02-29 outside leap years, the
  // fifth Monday of a month that has four).
  std::optional<std::chrono::sys_days> in(int year) const;
  // Whether it falls on `local_date`: a few integer operations, for holiday rules checked per day.
  bool matches(std::chrono::sys_days local_date) const;
};

struct Calendar {
  TimeZone time_zone;                      // the scenario's local time: every local date and time is in it
  std::vector<double> month_factors;       // 12 relative weights, January first
  std::vector<double> weekday_factors;     // 7 relative weights, Monday first
  std::vector<std::chrono::sys_days> holidays;  // listed local dates, each in its own year; sorted, unique
  std::vector<YearlyDate> yearly_holidays; // holidays on the same date or weekday rule every year
  double holiday_factor = 1.0;             // replaces the weekday factor on holidays
  std::vector<double> hour_profile;        // 24 or 96 relative weights over the local day
};

// When a recurring event comes back: every year on `date` at `time_of_day` local time, from
// first_year to last_year, both inclusive (0: open, as far as the rate model's years go).
struct YearlyRecurrence {
  YearlyDate date;
  std::chrono::seconds time_of_day{0};
  int first_year = 0;
  int last_year = 0;
};

// A surge on top of the calendar: the rate is multiplied by a factor that rises linearly from 1
// to `multiplier` over ramp_up, holds for plateau, and falls linearly back to 1 over decay.
// It happens once, on a list of dates, or every year by a rule; each occurrence has this shape.
struct Event {
  std::string name;
  std::vector<std::chrono::local_seconds> starts;  // local wall-clock starts of its occurrences
  std::optional<YearlyRecurrence> yearly;          // or (starts empty): the yearly rule
  Seconds ramp_up{0};
  Seconds plateau{0};
  Seconds decay{0};
  double multiplier = 1.0;                 // > 0; below 1 models an outage or a quiet day
  std::vector<std::string> endpoints;      // empty: every endpoint
  // false: the event moves demand within its year, whose volume stays the measured or projected
  // one (the rest of the year gives up what the event adds); true: its extra comes on top.
  bool additive = false;

  // Local starts of the occurrences in the years [first_year, last_year]; listed starts are
  // returned whatever their year. Sorted.
  std::vector<std::chrono::local_seconds> occurrences(int first_year, int last_year) const;
};

// A user journey as an absorbing Markov chain. "exit" is the absorbing state. The load
// generator runs each journey as a session: its steps one after another, each entered a think
// time after the previous step ended (the previous response, for a step that sends a request).
struct JourneyStep {
  std::string name;
  std::string endpoint;                      // empty: a step that sends no request (reading a screen)
  std::vector<std::pair<std::string, double>> next;  // successor step -> probability; sums to 1
  std::optional<DurationDistribution> think_time;    // the pause before this step; empty: the journeys' own
};

struct Journeys {
  std::string start;                         // entered when the session arrives, without a pause
  std::vector<JourneyStep> steps;
  DurationDistribution think_time;           // the pause before each later step, unless the step has its own
  bool cookies = true;                       // each session keeps a cookie jar, as a browser or an app does
};

// How each unit of the driving series' volume becomes requests.
struct Mix {
  std::string series;                          // the driving series
  double requests_per_use = 1.0;               // with shares: requests per unit of volume
  std::vector<std::pair<std::string, double>> shares;  // endpoint -> share; sums to 1 (or empty with journeys)
  std::optional<Journeys> journeys;            // when set, each unit of volume is one journey
};

// Where a captured value comes from: a JSON pointer into the body (the default), a header's
// value, or the first group of a regular expression searched in the body, or in a header's value
// when both are given.
struct Capture {
  std::string name;           // variable name later templates use ("credential")
  std::string json_pointer;   // RFC 6901 pointer into the JSON response body ("/credential"); used when header and regex are empty
  std::string header;         // a response header's name ("Location"); matched case-insensitively
  std::string regex;          // ECMAScript syntax with at least one group; the first group's match is the value
};

// What an answer must be for its request to count as ok. Without a status check, a status
// below 400 is expected, as without checks; with one, only the statuses it names (which may be
// 400 or more: a negative path that expects 401).
struct StatusRange {
  int from = 200;  // inclusive, 100 to 599
  int to = 299;    // inclusive, from or more
};

struct JsonCheck {
  std::string pointer;      // RFC 6901 pointer into the JSON response body
  std::string equals_json;  // the expected value as JSON text ("\"active\"", "3", "true"); empty: the value need only exist
};

struct Checks {
  std::vector<StatusRange> status;  // empty: below 400
  std::vector<JsonCheck> json;      // in the file's order
  std::string body_regex;           // ECMAScript syntax, searched in the body; empty: none
  bool empty() const { return status.empty() && json.empty() && body_regex.empty(); }
};

// A use of {{env.NAME}} in a flow's template, kept with where it was written: the value is read
// from the environment when the run's plan is compiled, and a variable missing then is an error
// that names the field and the line.
struct EnvironmentUse {
  std::string name;      // NAME of {{env.NAME}}
  std::string field;     // "flows.issue.headers.Authorization"
  InputLocation where;
};

// Negative paths of one flow: a share of its requests send a captured value that the target
// must refuse. Shares are fractions of the flow's requests; tampered + revoked <= 1.
struct Negative {
  std::string variable;        // the captured variable the negative cases replace ("credential")
  double tampered = 0;         // an altered copy: one character in the middle of its last
                               // '.'-separated segment (a JWS signature) changed
  double revoked = 0;          // a value revoked during warm-up by the flow `revoke_with`
  std::string revoke_with;     // a flow run only in warm-up, on the response that captured the value
};

// The HTTP request of one endpoint. Templates may use {{citizen_id}}, {{certificate_type}},
// {{request_id}}, any capture name of another flow, FEEDER.COLUMN of a CSV feeder and
// env.NAME of an environment variable.
struct Flow {
  std::string endpoint;
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::vector<Capture> captures;
  Checks checks;
  std::vector<EnvironmentUse> environment;  // first use of each variable per field
  std::optional<Negative> negative;
  int redirects = 0;           // redirects followed, at most (0: a 3xx is the answer, as APIs expect)
  bool warm_up_only = false;   // named by another flow's revoke_with and not part of the mix
};

// Which row of a feeder a request uses: rows in order by the arrival's sequence number
// (row = sequence mod rows), or a seeded pseudo-random row per arrival. Both depend only on the
// arrival, so shards and threads pick the same rows the unsharded run would.
enum class FeederOrder { sequential, random };

// Values from a CSV file (RFC 4180, first line names the columns) for {{NAME.COLUMN}}.
struct Feeder {
  std::string name;
  std::string file;                  // as resolved against the scenario's folder
  FeederOrder order = FeederOrder::sequential;
  CsvTable table;                     // its columns and rows, held compactly
  std::size_t rows() const { return table.rows(); }
};

struct Synthetic {
  long long citizens = 1'000'000;                  // size of the synthetic citizen id space
  std::vector<std::string> certificate_types;      // drawn uniformly for {{certificate_type}}
};

enum class ReplayWindowKind { peak_hour, day, interval };

// Which stretch of scenario time to replay, compressed into `duration` of real time and scaled
// by `scale` (the share of national traffic the target represents).
struct Replay {
  ReplayWindowKind window = ReplayWindowKind::peak_hour;
  int year = 0;                                   // peak_hour: the year whose peak hour is replayed
  std::chrono::sys_seconds from{};                // day and interval: real start instant
  std::chrono::sys_seconds to{};                  // day and interval: real end instant
  std::optional<Seconds> duration;                // replay length; empty: the window's own length
  double scale = 1.0;                             // > 0, at most kMostFactor
  // Where its demand is asked for, for a replay beyond what any generator can send: the replay
  // block, or the driving series when the file has none.
  InputLocation where;
  // The command-line options that changed the block (sim::override_replay), as given:
  // "--window day:2027-03-31 --scale 0.5"; empty when the file's block is replayed as written.
  std::string overridden_by;
};

// Bounds on the factors of the rate model, each checked where it is read, so that no single one
// makes demand infinite (1e308 was accepted) or, like a weight of 1e308 among others, makes the
// rest vanish; what they give together is bounded by the replay's rate (sim::kMostReplayRate).
inline constexpr double kMostVolume = 1e15;   // a series' volume in a year or period
inline constexpr double kMostWeight = 1e6;    // a calendar weight (month, weekday, holiday, hour)
inline constexpr double kMostFactor = 1000;   // an event's multiplier, requests per use, replay scale
// Redirects a flow may follow: browsers stop at 20 (Fetch standard), as do most HTTP clients.
inline constexpr int kMostRedirects = 20;

// Over-dispersed arrivals: the rate is multiplied, for each interval of scenario time (aligned
// to the Unix epoch), by an independent gamma-distributed factor of mean 1 and coefficient of
// variation `rate_cv`. Counts then vary more than a Poisson process's: in a window no longer
// than the interval, with mean mu, the variance is mu + (rate_cv mu)^2. Real traffic is usually
// so, and a Poisson schedule then understates its busiest seconds. `uptake calibrate` measures it.
struct Burstiness {
  Seconds interval{60};   // from 1 s to 1 day
  double rate_cv = 0;     // from 0 (Poisson) to 10
  InputLocation where;
};

struct Scenario {
  std::string file;         // path it was loaded from
  std::string name;
  std::string description;
  std::uint64_t seed = 1;
  std::vector<Series> series;    // at least one
  Growth growth;
  Calendar calendar;
  std::vector<Event> events;
  Mix mix;
  std::vector<Flow> flows;       // one per endpoint named in the mix or journeys, when present
  std::vector<Feeder> feeders;
  Synthetic synthetic;
  Replay replay;
  // `http: 2`: flows go over HTTP/2 (h2 by ALPN for https targets, h2c for http ones); the
  // default, `http: 1.1`, is HTTP/1.1. http_where: the key, when the file sets it.
  bool http2 = false;
  InputLocation http_where;
  std::optional<Burstiness> burstiness;  // empty: Poisson arrivals
  std::vector<std::string> slo;  // threshold expressions, validated by parse_threshold
  std::vector<std::string> warnings;  // what loads but may not be what the author meant, for people

  const Series& driving_series() const;
  // Endpoint names in the order the mix or journeys first name them.
  std::vector<std::string> endpoint_names() const;
};

std::string to_string(GrowthModelKind kind);

}  // namespace uptake::sim
