#include "uptake/loadgen/summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "uptake/base/civil_time.hpp"
#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/base/limits.hpp"

namespace uptake::loadgen {
namespace {

using nlohmann::ordered_json;

// Each table names its fields once, for the writer and the reader alike.
constexpr std::pair<const char*, std::uint64_t RequestCounts::*> kCounters[] = {
    {"planned", &RequestCounts::planned}, {"sent", &RequestCounts::sent}, {"completed", &RequestCounts::completed},
    {"ok", &RequestCounts::ok},           {"errors", &RequestCounts::errors}};
constexpr std::pair<const char*, std::optional<double> LatencySummary::*> kFigures[] = {
    {"min", &LatencySummary::min}, {"mean", &LatencySummary::mean}, {"p50", &LatencySummary::p50},   {"p90", &LatencySummary::p90}, {"p95", &LatencySummary::p95},
    {"p99", &LatencySummary::p99}, {"p999", &LatencySummary::p999}, {"max", &LatencySummary::max}};

double ms(std::int64_t nanoseconds) { return static_cast<double>(nanoseconds) / 1e6; }

LatencySummary latency_summary(const HdrHistogram& histogram) {
  LatencySummary latency;
  latency.count = histogram.total_count();
  if (latency.count == 0) return latency;
  latency.min = ms(histogram.min());
  latency.mean = histogram.mean() / 1e6;
  latency.p50 = ms(histogram.value_at_percentile(50));
  latency.p90 = ms(histogram.value_at_percentile(90));
  latency.p95 = ms(histogram.value_at_percentile(95));
  latency.p99 = ms(histogram.value_at_percentile(99));
  latency.p999 = ms(histogram.value_at_percentile(99.9));
  latency.max = ms(histogram.max());
  return latency;
}

std::string shard_text(const sim::Shard& shard) { return fmt::format("{}/{}", shard.index, shard.count); }

// ---- writing ----

template <class Value>
ordered_json or_null(const std::optional<Value>& value) {
  return value ? ordered_json(*value) : ordered_json(nullptr);
}

ordered_json counters_json(const RequestCounts& counts) {
  ordered_json block;
  for (const auto& [key, member] : kCounters) block[key] = counts.*member;
  return block;
}

ordered_json latency_json(const LatencySummary& latency) {
  ordered_json block{{"count", latency.count}};
  for (const auto& [key, member] : kFigures) {
    if (latency.*member) block[key] = *(latency.*member);
  }
  return block;
}

ordered_json threshold_json(const SummaryThreshold& threshold) {
  ordered_json entry{{"expression", threshold.expression},
                     {"endpoint", or_null(threshold.endpoint)},
                     {"metric", threshold.metric},
                     {"comparison", threshold.comparison},
                     {"bound", threshold.bound},
                     {"observed", or_null(threshold.observed)},
                     {"unit", threshold.unit},
                     {"passed", threshold.passed},
                     {"message", threshold.message}};
  if (threshold.aborted) entry["aborted"] = true;
  return entry;
}

// ---- the replay block ----

// Instants as the file holds them: whole milliseconds.
double whole_milliseconds(double instant) { return static_cast<double>(std::llround(instant * 1e3)) / 1e3; }

std::chrono::sys_time<std::chrono::milliseconds> time_point_of(double instant) {
  return std::chrono::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{std::llround(instant * 1e3)}};
}

// "+09:00", "-03:30", "+00:00".
std::string utc_offset_text(double offset_seconds) {
  const auto minutes = std::llround(offset_seconds / 60);
  const auto magnitude = minutes < 0 ? -minutes : minutes;
  return fmt::format("{}{:02}:{:02}", minutes < 0 ? '-' : '+', magnitude / 60, magnitude % 60);
}

// "2027-03-30T15:00:00Z"
std::string utc_text(double instant) { return format_rfc3339(time_point_of(instant)); }

// The local wall-clock time of `instant` with its offset: "2027-03-31T00:00:00+09:00".
std::string local_text(double instant, double offset_seconds) {
  auto text = format_rfc3339(time_point_of(instant + offset_seconds));
  text.pop_back();  // the 'Z'
  return text + utc_offset_text(offset_seconds);
}

ordered_json replay_json(const sim::ReplayContext& replay) {
  ordered_json clock_changes = ordered_json::array();
  for (const auto& change : replay.clock_changes) {
    clock_changes.push_back({{"at", utc_text(change.at)}, {"utc_offset", utc_offset_text(change.utc_offset_seconds)}});
  }
  ordered_json events = ordered_json::array();
  for (const auto& event : replay.events) {
    events.push_back({{"name", event.name}, {"from", utc_text(event.from)}, {"to", utc_text(event.to)}, {"multiplier", event.multiplier}});
  }
  return {{"window", sim::to_string(replay.window)},
          {"year", or_null(replay.year)},
          {"from", utc_text(replay.from)},
          {"to", utc_text(replay.to)},
          {"from_local", local_text(replay.from, replay.utc_offset_seconds)},
          {"to_local", local_text(replay.to, replay.utc_offset_at(replay.to))},
          {"time_zone", replay.time_zone},
          {"clock_changes", std::move(clock_changes)},
          {"window_s", replay.window_seconds()},
          {"duration_s", replay.duration.count()},
          {"compression", replay.compression()},
          {"scale", replay.scale},
          {"combined_factor", replay.combined_factor()},
          {"modelled_mean_rps", replay.modelled_mean_rps},
          {"modelled_peak_rps", replay.modelled_peak_rps},
          {"replay_mean_rps", replay.replay_mean_rps()},
          {"replay_peak_rps", replay.replay_peak_rps()},
          {"events", std::move(events)}};
}

// ---- reading ----

enum class Kind { object, array, string, boolean, number, count };

const char* describe(Kind kind) {
  switch (kind) {
    case Kind::object: return "an object";
    case Kind::array: return "an array";
    case Kind::string: return "a string";
    case Kind::boolean: return "true or false";
    case Kind::number: return "a number";
    case Kind::count: return "a whole number, 0 or more";
  }
  return "?";
}

bool is(const ordered_json& value, Kind kind) {
  switch (kind) {
    case Kind::object: return value.is_object();
    case Kind::array: return value.is_array();
    case Kind::string: return value.is_string();
    case Kind::boolean: return value.is_boolean();
    case Kind::number: return value.is_number();
    case Kind::count: return value.is_number_unsigned() || (value.is_number_integer() && value.get<std::int64_t>() >= 0);
  }
  return false;
}

enum class Need { required, optional };

// Fields are found by their path from the root, as InputError names them: "requests.sent",
// "endpoints.<name>.latency_ms.p99" (endpoint names may hold dots, so paths are joined, never
// split), "thresholds[2].passed".
class Reader {
 public:
  explicit Reader(const std::string& file) : file_(file) {}

  [[noreturn]] void refuse(const std::string& field, const std::string& problem, const std::string& expected) const {
    throw InputError({file_, 0, 0}, field, problem, expected);
  }

  // The member `key` of `object` (at path `at`; null when that object is absent itself),
  // checked to be of `kind`; nullptr when it is absent and may be.
  const ordered_json* member(const ordered_json* object, const std::string& at, const std::string& key, Kind kind, Need need) const {
    const auto field = path(at, key);
    const auto found = object ? object->find(key) : ordered_json::const_iterator();
    if (!object || found == object->end()) {
      if (need == Need::required) refuse(field, "is missing", describe(kind));
      return nullptr;
    }
    check(*found, field, kind);
    return &*found;
  }

  void check(const ordered_json& value, const std::string& field, Kind kind) const {
    if (!is(value, kind)) refuse(field, fmt::format("is {}", value.dump()), describe(kind));
  }

  // Reads the member `key` into `into` (a std::optional one: when present); an absent optional
  // one leaves `into` as it was.
  template <class Value>
  void read(const ordered_json* object, const std::string& at, const std::string& key, Value& into, Need need) const {
    if constexpr (is_optional<Value>::value) {
      typename Value::value_type value{};
      if (read_present(object, at, key, value, need, "")) into = value;
    } else {
      read_present(object, at, key, into, need, "");
    }
  }

  // The same for a member that may be null, as the file writes an absent value.
  template <class Value>
  void read_nullable(const ordered_json* object, const std::string& at, const std::string& key, std::optional<Value>& into, Need need) const {
    const auto found = object ? object->find(key) : ordered_json::const_iterator();
    if (object && found != object->end() && found->is_null()) {
      into.reset();
      return;
    }
    Value value{};
    if (read_present(object, at, key, value, need, ", or null")) into = value;
  }

  // `value` as a string, bool, double or whole number (0 or more, within the type's range).
  template <class Value>
  Value value_of(const ordered_json& value, const std::string& field, const char* or_null = "") const {
    constexpr Kind kind = kind_of<Value>();
    if (!is(value, kind)) refuse(field, fmt::format("is {}", value.dump()), describe(kind) + std::string(or_null));
    if constexpr (kind == Kind::count) {
      if (value.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<Value>::max())) {
        refuse(field, fmt::format("is {}", value.dump()), fmt::format("a whole number, 0 to {}", std::numeric_limits<Value>::max()));
      }
    }
    return value.get<Value>();
  }

  static std::string path(const std::string& at, const std::string& key) { return at.empty() ? key : at + "." + key; }

 private:
  template <class T>
  struct is_optional : std::false_type {};
  template <class T>
  struct is_optional<std::optional<T>> : std::true_type {};

  template <class Value>
  bool read_present(const ordered_json* object, const std::string& at, const std::string& key, Value& into, Need need, const char* or_null) const {
    const auto field = path(at, key);
    const auto found = object ? object->find(key) : ordered_json::const_iterator();
    if (object && found != object->end()) {
      into = value_of<Value>(*found, field, or_null);
      return true;
    }
    if (need == Need::required) refuse(field, "is missing", describe(kind_of<Value>()) + std::string(or_null));
    return false;
  }

  template <class Value>
  static constexpr Kind kind_of() {
    if constexpr (std::is_same_v<Value, std::string>) return Kind::string;
    else if constexpr (std::is_same_v<Value, bool>) return Kind::boolean;
    else if constexpr (std::is_floating_point_v<Value>) return Kind::number;
    else return Kind::count;
  }

  const std::string& file_;
};

void read_counters(const Reader& in, const ordered_json* block, const std::string& at, RequestCounts& counts) {
  for (const auto& [key, member] : kCounters) in.read(block, at, key, counts.*member, Need::required);
}

LatencySummary read_latency(const Reader& in, const ordered_json* parent, const std::string& at, const std::string& key) {
  LatencySummary latency;
  const auto* block = in.member(parent, at, key, Kind::object, Need::optional);
  const auto block_at = Reader::path(at, key);
  in.read(block, block_at, "count", latency.count, Need::optional);
  for (const auto& [figure, member] : kFigures) in.read(block, block_at, figure, latency.*member, Need::optional);
  return latency;
}

SummaryThreshold read_threshold(const Reader& in, const ordered_json& entry, const std::string& at) {
  in.check(entry, at, Kind::object);
  SummaryThreshold threshold;
  // Every entry has had its expression and verdict; the rest came later (an aborted run's entry
  // once had only expression, passed, message and aborted).
  in.read(&entry, at, "expression", threshold.expression, Need::required);
  in.read_nullable(&entry, at, "endpoint", threshold.endpoint, Need::optional);
  in.read(&entry, at, "metric", threshold.metric, Need::optional);
  in.read(&entry, at, "comparison", threshold.comparison, Need::optional);
  in.read(&entry, at, "bound", threshold.bound, Need::optional);
  in.read_nullable(&entry, at, "observed", threshold.observed, Need::optional);
  in.read(&entry, at, "unit", threshold.unit, Need::optional);
  in.read(&entry, at, "passed", threshold.passed, Need::required);
  in.read(&entry, at, "message", threshold.message, Need::optional);
  in.read(&entry, at, "aborted", threshold.aborted, Need::optional);
  return threshold;
}

SummaryEndpoint read_endpoint(const Reader& in, const std::string& name, const ordered_json& block, const std::string& at) {
  in.check(block, at, Kind::object);
  SummaryEndpoint endpoint;
  endpoint.name = name;
  read_counters(in, in.member(&block, at, "requests", Kind::object, Need::optional), at + ".requests", endpoint.requests);
  in.read(&block, at, "achieved_rps", endpoint.achieved_rps, Need::required);
  endpoint.latency_ms = read_latency(in, &block, at, "latency_ms");
  endpoint.service_time_ms = read_latency(in, &block, at, "service_time_ms");
  // Absent from summaries written before negative paths were counted: none were sent.
  const auto* negative = in.member(&block, at, "negative", Kind::object, Need::optional);
  in.read(negative, at + ".negative", "tampered", endpoint.negative.tampered, Need::optional);
  in.read(negative, at + ".negative", "revoked", endpoint.negative.revoked, Need::optional);
  // Absent from summaries written before redirects were followed: none were.
  in.read(&block, at, "redirects", endpoint.redirects, Need::optional);
  return endpoint;
}

// An RFC 3339 time as the replay block writes it: "2027-03-30T15:00:00Z" (or with .mmm), or,
// local, "2027-03-31T00:00:00+09:00". The instant, and the offset it was written with.
std::optional<std::pair<double, double>> parse_instant(std::string_view text, bool utc) {
  std::string_view offset_text;
  if (utc) {
    if (text.empty() || text.back() != 'Z') return std::nullopt;
    offset_text = "Z";
    text.remove_suffix(1);
  } else {
    if (text.size() < 6) return std::nullopt;
    offset_text = text.substr(text.size() - 6);
    text.remove_suffix(6);
  }
  const auto offset = parse_utc_offset(offset_text);
  if (!offset || text.size() < 19 || text[10] != 'T') return std::nullopt;
  const auto wall_clock = parse_date_time(text.substr(0, 19));
  if (!wall_clock) return std::nullopt;
  double milliseconds = 0;
  if (text.size() > 19) {
    const auto fraction = text.substr(19);
    if (fraction.size() != 4 || fraction[0] != '.') return std::nullopt;
    for (const char digit : fraction.substr(1)) {
      if (digit < '0' || digit > '9') return std::nullopt;
      milliseconds = milliseconds * 10 + (digit - '0');
    }
  }
  const double local = static_cast<double>(wall_clock->time_since_epoch().count()) + milliseconds / 1e3;
  return std::pair{local - static_cast<double>(offset->count()), static_cast<double>(offset->count())};
}

// Whether a figure the writer derived from others is the one they give (to rounding).
bool agrees(double written, double derived) { return std::abs(written - derived) <= 1e-9 * std::max(std::abs(written), std::abs(derived)) + 1e-12; }

std::optional<sim::ReplayContext> read_replay(const Reader& in, const ordered_json& root) {
  const auto found = root.find("replay");
  if (found == root.end() || found->is_null()) return std::nullopt;
  if (!found->is_object()) in.refuse("replay", fmt::format("is {}", found->dump()), "an object, or null (an ad hoc run, a capacity search)");
  const auto* block = &*found;
  const std::string at = "replay";
  sim::ReplayContext replay;
  const auto instant = [&](const std::string& key, bool utc) {
    std::string text;
    in.read(block, at, key, text, Need::required);
    const auto parsed = parse_instant(text, utc);
    if (!parsed) {
      in.refuse(at + "." + key, fmt::format("is {}", ordered_json(text).dump()),
                utc ? "an RFC 3339 time in UTC, such as \"2027-03-30T15:00:00Z\"" : "an RFC 3339 local time with its offset, such as \"2027-03-31T00:00:00+09:00\"");
    }
    return *parsed;
  };
  const auto number = [&](const std::string& key) {
    double value = 0;
    in.read(block, at, key, value, Need::required);
    return value;
  };
  const auto derived = [&](const std::string& key, double value, const std::string& from_what) {
    if (const double written = number(key); !agrees(written, value)) {
      in.refuse(at + "." + key, fmt::format("is {:g}, but {} gives {:g}", written, from_what, value), fmt::format("{:g} ({})", value, from_what));
    }
  };

  std::string window;
  in.read(block, at, "window", window, Need::required);
  const auto kind = sim::parse_replay_window_kind(window);
  if (!kind) in.refuse("replay.window", fmt::format("is {}", ordered_json(window).dump()), "\"peak_hour\", \"day\" or \"interval\"");
  replay.window = *kind;
  in.read_nullable(block, at, "year", replay.year, Need::required);
  if (replay.window == sim::ReplayWindowKind::peak_hour && !(replay.year && *replay.year >= 1 && *replay.year <= 9999)) {
    in.refuse("replay.year", replay.year ? fmt::format("is {}", *replay.year) : "is null", "the year whose peak hour is replayed, 1 to 9999");
  }
  if (replay.window != sim::ReplayWindowKind::peak_hour && replay.year) {
    in.refuse("replay.year", fmt::format("is {} with window {}", *replay.year, ordered_json(window).dump()), "null: only a peak_hour window has a year");
  }
  replay.from = instant("from", true).first;
  replay.to = instant("to", true).first;
  if (!(replay.to > replay.from)) in.refuse("replay.to", "is not after replay.from", "the end of the replayed window, after its start");
  in.read(block, at, "time_zone", replay.time_zone, Need::required);
  if (replay.time_zone.empty()) in.refuse("replay.time_zone", "is empty", "the scenario's time zone, such as \"+09:00\" or \"Europe/Berlin\"");
  const auto& changes = *in.member(block, at, "clock_changes", Kind::array, Need::required);
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const auto change_at = fmt::format("replay.clock_changes[{}]", i);
    in.check(changes[i], change_at, Kind::object);
    std::string when, offset;
    in.read(&changes[i], change_at, "at", when, Need::required);
    in.read(&changes[i], change_at, "utc_offset", offset, Need::required);
    const auto parsed = parse_instant(when, true);
    const double earliest = replay.clock_changes.empty() ? replay.from : replay.clock_changes.back().at;
    if (!parsed || !(parsed->first > earliest && parsed->first < replay.to)) {
      in.refuse(change_at + ".at", fmt::format("is {}", ordered_json(when).dump()), "an RFC 3339 time in UTC inside the window, after the change before it");
    }
    const auto seconds = parse_utc_offset(offset);
    if (!seconds || offset.size() != 6) in.refuse(change_at + ".utc_offset", fmt::format("is {}", ordered_json(offset).dump()), "an offset such as \"+02:00\"");
    replay.clock_changes.push_back({parsed->first, static_cast<double>(seconds->count())});
  }
  const auto from_local = instant("from_local", false);
  const auto to_local = instant("to_local", false);
  replay.utc_offset_seconds = from_local.second;
  if (from_local.first != replay.from) in.refuse("replay.from_local", "is not the instant of replay.from", "replay.from in the scenario's local time, with its offset");
  if (to_local.first != replay.to || to_local.second != replay.utc_offset_at(replay.to)) {
    in.refuse("replay.to_local", "is not the instant of replay.to with the offset in force then", "replay.to in the scenario's local time, with its offset");
  }
  derived("window_s", replay.window_seconds(), "replay.to - replay.from");
  const double duration = number("duration_s");
  if (!(duration > 0 && duration <= kLongestRunSeconds)) {
    in.refuse("replay.duration_s", fmt::format("is {:g}", duration), fmt::format("seconds above 0, to {:.0f} (31 days)", kLongestRunSeconds));
  }
  replay.duration = Seconds{duration};
  derived("compression", replay.compression(), "window_s / duration_s");
  replay.scale = number("scale");
  if (!(replay.scale > 0 && replay.scale <= sim::kMostFactor)) in.refuse("replay.scale", fmt::format("is {:g}", replay.scale), fmt::format("a share above 0, at most {:g}", sim::kMostFactor));
  derived("combined_factor", replay.combined_factor(), "compression x scale");
  replay.modelled_mean_rps = number("modelled_mean_rps");
  replay.modelled_peak_rps = number("modelled_peak_rps");
  if (!(replay.modelled_mean_rps >= 0 && std::isfinite(replay.modelled_mean_rps))) {
    in.refuse("replay.modelled_mean_rps", fmt::format("is {:g}", replay.modelled_mean_rps), "requests per second, 0 or more");
  }
  if (!(replay.modelled_peak_rps >= replay.modelled_mean_rps * (1 - 1e-9) && replay.replay_peak_rps() <= sim::kMostReplayRate)) {
    in.refuse("replay.modelled_peak_rps", fmt::format("is {:g}", replay.modelled_peak_rps),
              fmt::format("requests per second, at least modelled_mean_rps ({:g}), and at most {:g} once compressed and scaled", replay.modelled_mean_rps,
                          sim::kMostReplayRate));
  }
  derived("replay_mean_rps", replay.replay_mean_rps(), "modelled_mean_rps x combined_factor");
  derived("replay_peak_rps", replay.replay_peak_rps(), "modelled_peak_rps x combined_factor");
  const auto& events = *in.member(block, at, "events", Kind::array, Need::required);
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto event_at = fmt::format("replay.events[{}]", i);
    in.check(events[i], event_at, Kind::object);
    sim::ReplayEvent event;
    in.read(&events[i], event_at, "name", event.name, Need::required);
    std::string from, to;
    in.read(&events[i], event_at, "from", from, Need::required);
    in.read(&events[i], event_at, "to", to, Need::required);
    in.read(&events[i], event_at, "multiplier", event.multiplier, Need::required);
    const auto parsed_from = parse_instant(from, true), parsed_to = parse_instant(to, true);
    if (!parsed_from || parsed_from->first < replay.from || parsed_from->first >= replay.to) {
      in.refuse(event_at + ".from", fmt::format("is {}", ordered_json(from).dump()), "an RFC 3339 time in UTC within the window");
    }
    if (!parsed_to || parsed_to->first <= parsed_from->first || parsed_to->first > replay.to) {
      in.refuse(event_at + ".to", fmt::format("is {}", ordered_json(to).dump()), "an RFC 3339 time in UTC after the event's from, within the window");
    }
    if (!(event.multiplier > 0 && event.multiplier <= sim::kMostFactor)) {
      in.refuse(event_at + ".multiplier", fmt::format("is {:g}", event.multiplier), fmt::format("a factor above 0, at most {:g}", sim::kMostFactor));
    }
    event.from = parsed_from->first;
    event.to = parsed_to->first;
    replay.events.push_back(std::move(event));
  }
  return replay;
}

}  // namespace

const SummaryEndpoint* Summary::endpoint(std::string_view name) const {
  const auto found = std::find_if(endpoints.begin(), endpoints.end(), [&](const SummaryEndpoint& endpoint) { return endpoint.name == name; });
  return found == endpoints.end() ? nullptr : &*found;
}

std::uint64_t Summary::errors_of(ErrorClass error) const {
  const std::string_view name = to_string(error);
  const auto found = std::find_if(errors.begin(), errors.end(), [&](const auto& entry) { return entry.first == name; });
  return found == errors.end() ? 0 : found->second;
}

Summary make_summary(const RunResult& result, const RunContext& context, const Verdict& verdict) {
  const auto total = result.total();
  Summary summary;
  summary.scenario = context.scenario;
  summary.scenario_file = context.scenario_file;
  if (!context.replay_overridden_by.empty()) summary.replay_overridden_by = context.replay_overridden_by;
  summary.target = result.target;
  summary.mode = result.closed_loop ? "closed_loop" : "open_loop";
  summary.seed = context.seed;
  if (context.merged_from.empty()) {
    summary.shard = shard_text(context.shard);
    summary.shard_index = context.shard.index;
    summary.shard_count = context.shard.count;
  } else {
    summary.shard = "merged";
    summary.shard_count = context.merged_from.front().second.count;
    summary.merged_from.emplace();
    for (const auto& [folder, shard] : context.merged_from) summary.merged_from->push_back({folder, shard_text(shard)});
    // The shards of 0..N-1 that no folder brought: a merge without them is partial.
    summary.shards_missing.emplace();
    for (std::uint32_t index = 0; index < summary.shard_count; ++index) {
      const bool present = std::any_of(context.merged_from.begin(), context.merged_from.end(), [&](const auto& part) { return part.second.index == index; });
      if (!present) summary.shards_missing->push_back(index);
    }
  }
  summary.start_at = context.start_at;
  summary.started_at = std::chrono::duration<double>(result.started_at.time_since_epoch()).count();
  summary.started_at_utc = format_rfc3339(std::chrono::time_point_cast<std::chrono::milliseconds>(result.started_at));
  // Exact, for aligning shards by wall clock: a double of Unix seconds keeps only about 0.2 us.
  summary.started_at_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(result.started_at.time_since_epoch()).count();
  summary.duration_s = result.duration_seconds;
  summary.schedule_s = result.schedule_seconds;
  summary.interrupted = result.interrupted;
  if (!result.aborted_threshold.empty()) summary.aborted = SummaryAborted{result.aborted_threshold, result.aborted_reason, result.aborted_at_seconds};
  if (context.replay) {
    // As the file will hold it, so that what is read back equals what was written.
    auto& replay = summary.replay.emplace(*context.replay);
    replay.from = whole_milliseconds(replay.from);
    replay.to = whole_milliseconds(replay.to);
    for (auto& change : replay.clock_changes) change.at = whole_milliseconds(change.at);
    for (auto& event : replay.events) event.from = whole_milliseconds(event.from), event.to = whole_milliseconds(event.to);
  }
  static_cast<RequestCounts&>(summary.requests) = total;
  summary.requests.planned_is_lower_bound = result.planned_is_lower_bound;
  const double seconds = result.duration_seconds > 0 ? result.duration_seconds : 1;
  summary.rate.planned_rps = result.closed_loop ? 0.0 : static_cast<double>(total.planned) / std::max(result.schedule_seconds, 1e-9);
  summary.rate.achieved_rps = static_cast<double>(total.completed) / seconds;
  summary.rate.achieved_ratio =
      achieved_ratio(counts_in_window(result.intervals, achieved_window_seconds(result.schedule_seconds, result.duration_seconds)).completed, total.planned);
  summary.latency_ms = latency_summary(total.response_time);
  summary.service_time_ms = latency_summary(total.service_time);
  summary.schedule_lag_ms = latency_summary(result.schedule_lag);
  summary.error_rate = error_rate(total.ok, total.errors);
  for (std::size_t i = 0; i < result.errors.size(); ++i) summary.errors.emplace_back(to_string(static_cast<ErrorClass>(i)), result.errors[i]);
  summary.check_failure = result.check_failure;
  summary.sessions = result.sessions;
  for (const auto& endpoint : result.endpoints) {
    summary.endpoints.push_back({endpoint.name, static_cast<const RequestCounts&>(endpoint), static_cast<double>(endpoint.completed) / seconds, latency_summary(endpoint.response_time),
                                 latency_summary(endpoint.service_time), {endpoint.tampered, endpoint.revoked}, endpoint.redirects});
  }
  summary.connections = {result.connections_opened, result.waited_for_connection, result.protocol, result.streams_per_connection};
  summary.generator = {!verdict.generator_behind, context.lag_bound_seconds * 1e3, result.pacing, static_cast<double>(result.batch_window.count()) / 1e3,
                       result.busiest_thread_fraction, verdict.reason};
  summary.slo = context.slo;
  return summary;
}

ordered_json to_json(const Summary& summary) {
  ordered_json root;
  root["schema"] = kSummarySchema;
  root["scenario"] = summary.scenario;
  root["scenario_file"] = summary.scenario_file;
  if (summary.replay_overridden_by) root["replay_overridden_by"] = *summary.replay_overridden_by;
  root["target"] = summary.target;
  root["mode"] = summary.mode;
  root["seed"] = summary.seed;
  root["shard"] = summary.shard;
  root["shard_index"] = or_null(summary.shard_index);
  root["shard_count"] = summary.shard_count;
  if (summary.merged_from) {
    root["merged_from"] = ordered_json::array();
    for (const auto& part : *summary.merged_from) root["merged_from"].push_back({{"folder", part.folder}, {"shard", part.shard}});
  }
  if (summary.shards_missing) root["shards_missing"] = *summary.shards_missing;
  root["start_at"] = or_null(summary.start_at);
  root["started_at"] = summary.started_at;
  root["started_at_utc"] = summary.started_at_utc;
  root["started_at_ns"] = summary.started_at_ns;
  root["duration_s"] = summary.duration_s;
  root["schedule_s"] = summary.schedule_s;
  root["interrupted"] = summary.interrupted;
  root["aborted"] = summary.aborted ? ordered_json{{"threshold", summary.aborted->threshold}, {"reason", summary.aborted->reason}, {"at_s", summary.aborted->at_s}}
                                    : ordered_json(nullptr);
  root["replay"] = summary.replay ? replay_json(*summary.replay) : ordered_json(nullptr);
  root["requests"] = counters_json(summary.requests);
  root["requests"]["planned_is_lower_bound"] = summary.requests.planned_is_lower_bound;
  root["rate"] = {{"planned_rps", summary.rate.planned_rps}, {"achieved_rps", summary.rate.achieved_rps}, {"achieved_ratio", summary.rate.achieved_ratio}};
  root["latency_ms"] = latency_json(summary.latency_ms);
  root["service_time_ms"] = latency_json(summary.service_time_ms);
  root["schedule_lag_ms"] = latency_json(summary.schedule_lag_ms);
  root["error_rate"] = summary.error_rate;
  root["errors"] = ordered_json::object();
  for (const auto& [error_class, count] : summary.errors) root["errors"][error_class] = count;
  const auto& failure = summary.check_failure;
  root["check_failure"] = failure ? ordered_json{{"flow", failure->flow}, {"check", failure->check}, {"status", failure->status}, {"body", failure->body}}
                                  : ordered_json(nullptr);
  for (const auto& endpoint : summary.endpoints) {
    root["endpoints"][endpoint.name] = {{"requests", counters_json(endpoint.requests)},
                                        {"achieved_rps", endpoint.achieved_rps},
                                        {"latency_ms", latency_json(endpoint.latency_ms)},
                                        {"service_time_ms", latency_json(endpoint.service_time_ms)},
                                        {"negative", {{"tampered", endpoint.negative.tampered}, {"revoked", endpoint.negative.revoked}}},
                                        {"redirects", endpoint.redirects}};
  }
  root["connections"] = {{"opened", summary.connections.opened},
                         {"requests_that_waited", summary.connections.requests_that_waited},
                         {"protocol", summary.connections.protocol},
                         {"streams", summary.connections.streams}};
  const auto& sessions = summary.sessions;
  root["sessions"] = sessions ? ordered_json{{"started", sessions->started}, {"completed", sessions->completed}, {"abandoned", sessions->abandoned},
                                             {"unfinished", sessions->unfinished}, {"not_started", sessions->not_started}}
                              : ordered_json(nullptr);
  root["generator"] = {{"trusted", summary.generator.trusted},
                       {"lag_bound_ms", summary.generator.lag_bound_ms},
                       {"pacing", to_string(summary.generator.pacing)},
                       {"batch_window_ms", summary.generator.batch_window_ms},
                       {"busiest_thread_fraction", summary.generator.busiest_thread_fraction},
                       {"reason", summary.generator.reason}};
  root["slo"] = summary.slo;
  root["thresholds"] = ordered_json::array();
  for (const auto& threshold : summary.thresholds) root["thresholds"].push_back(threshold_json(threshold));
  if (summary.trust) {
    root["trust"] = {{"trusted", summary.trust->trusted}, {"partial", summary.trust->partial}, {"partial_allowed", summary.trust->partial_allowed},
                     {"reason", summary.trust->reason}};
  }
  if (summary.capacity) root["capacity"] = *summary.capacity;
  return root;
}

Summary summary_from_json(const ordered_json& json, const std::string& file) {
  const Reader in(file);
  if (!json.is_object()) in.refuse("", "is not a JSON object", "the summary object uptake run writes");
  const auto* root = &json;
  Summary summary;
  std::string schema;
  in.read(root, "", "schema", schema, Need::required);
  if (schema != kSummarySchema) {
    in.refuse("schema", fmt::format("is {}, which this uptake does not read", ordered_json(schema).dump()), fmt::format("\"{}\"", kSummarySchema));
  }
  in.read(root, "", "scenario", summary.scenario, Need::required);
  in.read(root, "", "scenario_file", summary.scenario_file, Need::optional);
  if (in.member(root, "", "replay_overridden_by", Kind::string, Need::optional)) {
    summary.replay_overridden_by.emplace();
    in.read(root, "", "replay_overridden_by", *summary.replay_overridden_by, Need::required);
  }
  in.read(root, "", "target", summary.target, Need::required);
  in.read(root, "", "mode", summary.mode, Need::required);
  in.read(root, "", "seed", summary.seed, Need::required);
  in.read(root, "", "shard", summary.shard, Need::optional);
  in.read_nullable(root, "", "shard_index", summary.shard_index, Need::optional);
  in.read(root, "", "shard_count", summary.shard_count, Need::required);
  if (const auto* merged_from = in.member(root, "", "merged_from", Kind::array, Need::optional)) {
    summary.merged_from.emplace();
    for (std::size_t i = 0; i < merged_from->size(); ++i) {
      const auto at = fmt::format("merged_from[{}]", i);
      in.check((*merged_from)[i], at, Kind::object);
      MergedShard part;
      in.read(&(*merged_from)[i], at, "folder", part.folder, Need::required);
      in.read(&(*merged_from)[i], at, "shard", part.shard, Need::required);
      summary.merged_from->push_back(std::move(part));
    }
  }
  if (const auto* missing = in.member(root, "", "shards_missing", Kind::array, Need::optional)) {
    summary.shards_missing.emplace();
    for (std::size_t i = 0; i < missing->size(); ++i) {
      summary.shards_missing->push_back(in.value_of<std::uint32_t>((*missing)[i], fmt::format("shards_missing[{}]", i)));
    }
  }
  in.read_nullable(root, "", "start_at", summary.start_at, Need::optional);
  in.read(root, "", "started_at", summary.started_at, Need::required);
  in.read(root, "", "started_at_utc", summary.started_at_utc, Need::optional);
  in.read(root, "", "started_at_ns", summary.started_at_ns, Need::required);
  in.read(root, "", "duration_s", summary.duration_s, Need::required);
  in.read(root, "", "schedule_s", summary.schedule_s, Need::required);
  in.read(root, "", "interrupted", summary.interrupted, Need::required);
  for (const auto& [field, seconds] : {std::pair{"duration_s", summary.duration_s}, std::pair{"schedule_s", summary.schedule_s}}) {
    if (!(seconds >= 0 && seconds <= kLongestRunSeconds)) {
      in.refuse(field, fmt::format("is {:g}", seconds), fmt::format("seconds from 0 to {:.0f} (31 days)", kLongestRunSeconds));
    }
  }
  if (summary.started_at_ns < 0) in.refuse("started_at_ns", fmt::format("is {}", summary.started_at_ns), "nanoseconds since 1970-01-01, 0 or more");
  // The same instant twice (seconds for people and tools, nanoseconds for merging): an edit of
  // one shows as a disagreement, and a merge must not align shards by a time that was edited.
  if (const double from_ns = static_cast<double>(summary.started_at_ns) / 1e9; !(std::abs(summary.started_at - from_ns) <= 1)) {
    in.refuse("started_at", fmt::format("is {:.3f}, but started_at_ns says {:.3f}", summary.started_at, from_ns), "the instant of started_at_ns, in seconds");
  }
  if (const auto found = json.find("aborted"); found != json.end() && !found->is_null()) {
    if (!found->is_object()) in.refuse("aborted", fmt::format("is {}", found->dump()), "an object, or null");
    summary.aborted.emplace();
    in.read(&*found, "aborted", "threshold", summary.aborted->threshold, Need::required);
    in.read(&*found, "aborted", "reason", summary.aborted->reason, Need::required);
    in.read(&*found, "aborted", "at_s", summary.aborted->at_s, Need::required);
  }
  summary.replay = read_replay(in, json);
  const auto* requests = in.member(root, "", "requests", Kind::object, Need::optional);
  read_counters(in, requests, "requests", summary.requests);
  in.read(requests, "requests", "planned_is_lower_bound", summary.requests.planned_is_lower_bound, Need::optional);
  const auto* rate = in.member(root, "", "rate", Kind::object, Need::optional);
  in.read(rate, "rate", "planned_rps", summary.rate.planned_rps, Need::optional);
  in.read(rate, "rate", "achieved_rps", summary.rate.achieved_rps, Need::required);
  in.read(rate, "rate", "achieved_ratio", summary.rate.achieved_ratio, Need::optional);
  summary.latency_ms = read_latency(in, root, "", "latency_ms");
  summary.service_time_ms = read_latency(in, root, "", "service_time_ms");
  summary.schedule_lag_ms = read_latency(in, root, "", "schedule_lag_ms");
  in.read(root, "", "error_rate", summary.error_rate, Need::optional);
  for (const auto& [error_class, count] : in.member(root, "", "errors", Kind::object, Need::required)->items()) {
    summary.errors.emplace_back(error_class, in.value_of<std::uint64_t>(count, "errors." + error_class));
  }
  if (const auto found = json.find("check_failure"); found != json.end() && !found->is_null()) {
    if (!found->is_object()) in.refuse("check_failure", fmt::format("is {}", found->dump()), "an object, or null");
    auto& failure = summary.check_failure.emplace();
    in.read(&*found, "check_failure", "flow", failure.flow, Need::required);
    in.read(&*found, "check_failure", "check", failure.check, Need::required);
    in.read(&*found, "check_failure", "status", failure.status, Need::required);
    in.read(&*found, "check_failure", "body", failure.body, Need::required);
  }
  // A run whose schedule came due for nothing has no endpoints block at all.
  if (const auto* endpoints = in.member(root, "", "endpoints", Kind::object, Need::optional)) {
    for (const auto& [name, block] : endpoints->items()) summary.endpoints.push_back(read_endpoint(in, name, block, "endpoints." + name));
  }
  const auto* connections = in.member(root, "", "connections", Kind::object, Need::optional);
  in.read(connections, "connections", "opened", summary.connections.opened, Need::optional);
  in.read(connections, "connections", "requests_that_waited", summary.connections.requests_that_waited, Need::optional);
  in.read(connections, "connections", "protocol", summary.connections.protocol, Need::optional);
  if (summary.connections.protocol != "http/1.1" && summary.connections.protocol != "h2" && summary.connections.protocol != "h2c") {
    in.refuse("connections.protocol", fmt::format("is {}", ordered_json(summary.connections.protocol).dump()), "\"http/1.1\", \"h2\" or \"h2c\"");
  }
  in.read(connections, "connections", "streams", summary.connections.streams, Need::optional);
  if (const auto found = json.find("sessions"); found != json.end() && !found->is_null()) {
    const auto* sessions = in.member(root, "", "sessions", Kind::object, Need::required);
    auto& counts = summary.sessions.emplace();
    in.read(sessions, "sessions", "started", counts.started, Need::required);
    in.read(sessions, "sessions", "completed", counts.completed, Need::required);
    in.read(sessions, "sessions", "abandoned", counts.abandoned, Need::required);
    in.read(sessions, "sessions", "unfinished", counts.unfinished, Need::required);
    in.read(sessions, "sessions", "not_started", counts.not_started, Need::required);
    // Every session that started ended in exactly one way.
    if (counts.completed + counts.abandoned + counts.unfinished != counts.started) {
      in.refuse("sessions", fmt::format("counts {} started but {} completed, {} abandoned and {} unfinished", counts.started, counts.completed, counts.abandoned, counts.unfinished),
                "started = completed + abandoned + unfinished");
    }
  }
  const auto* generator = in.member(root, "", "generator", Kind::object, Need::optional);
  in.read(generator, "generator", "trusted", summary.generator.trusted, Need::required);
  in.read(generator, "generator", "lag_bound_ms", summary.generator.lag_bound_ms, Need::required);
  std::string pacing = to_string(summary.generator.pacing);  // absent from summaries written before --pacing: they slept
  in.read(generator, "generator", "pacing", pacing, Need::optional);
  const auto parsed_pacing = parse_pacing(pacing);
  // The saturation verdict depends on the pacing, so an unknown one is refused, not guessed.
  if (!parsed_pacing) in.refuse("generator.pacing", fmt::format("is {}", ordered_json(pacing).dump()), "\"sleep\" or \"spin\"");
  summary.generator.pacing = *parsed_pacing;
  in.read(generator, "generator", "batch_window_ms", summary.generator.batch_window_ms, Need::optional);
  if (!(summary.generator.batch_window_ms >= 0 && summary.generator.batch_window_ms <= 1e3)) {
    in.refuse("generator.batch_window_ms", fmt::format("is {}", summary.generator.batch_window_ms), "milliseconds from 0 to 1000");
  }
  in.read(generator, "generator", "busiest_thread_fraction", summary.generator.busiest_thread_fraction, Need::optional);
  in.read(generator, "generator", "reason", summary.generator.reason, Need::optional);
  for (const auto& expression : *in.member(root, "", "slo", Kind::array, Need::required)) {
    if (!expression.is_string()) in.refuse("slo", fmt::format("holds {}", expression.dump()), "threshold expressions as strings");
    summary.slo.push_back(expression.get<std::string>());
  }
  const auto& thresholds = *in.member(root, "", "thresholds", Kind::array, Need::required);
  for (std::size_t i = 0; i < thresholds.size(); ++i) summary.thresholds.push_back(read_threshold(in, thresholds[i], fmt::format("thresholds[{}]", i)));
  if (const auto* trust = in.member(root, "", "trust", Kind::object, Need::optional)) {
    summary.trust.emplace();
    in.read(trust, "trust", "trusted", summary.trust->trusted, Need::required);
    in.read(trust, "trust", "partial", summary.trust->partial, Need::required);
    in.read(trust, "trust", "partial_allowed", summary.trust->partial_allowed, Need::required);
    in.read(trust, "trust", "reason", summary.trust->reason, Need::required);
  }
  if (const auto* capacity = in.member(root, "", "capacity", Kind::object, Need::optional)) summary.capacity = *capacity;
  return summary;
}

namespace {

constexpr const char* kSummaryExpected = "the summary.json that uptake run, merge and capacity write into a results folder";

InputLocation location_of_offset(const std::filesystem::path& file, const std::string& text, std::size_t offset) {
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {file.string(), line, column};
}

}  // namespace

ordered_json read_json_file(const std::filesystem::path& file, const std::string& expected) {
  const auto text = read_whole_file(file.string(), expected);
  try {
    return ordered_json::parse(text);
  } catch (const ordered_json::parse_error& error) {
    throw InputError(location_of_offset(file, text, error.byte > 0 ? error.byte - 1 : 0), "",
                     fmt::format("is not valid JSON (cut short, or damaged): {}", error.what()), expected);
  }
}

Summary read_summary_file(const std::filesystem::path& file) { return summary_from_json(read_json_file(file, kSummaryExpected), file.string()); }

void write_summary_file(const std::filesystem::path& file, const Summary& summary) { write_file_atomically(file.string(), to_json(summary).dump(2) + "\n"); }

void update_summary_file(const std::filesystem::path& folder, const std::function<void(Summary&)>& change) {
  const auto file = folder / kSummaryFile;
  auto summary = read_summary_file(file);
  change(summary);
  write_summary_file(file, summary);
}

}  // namespace uptake::loadgen
