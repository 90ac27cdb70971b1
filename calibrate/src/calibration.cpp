#include "uptake/calibrate/calibration.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <map>
#include <queue>
#include <unordered_map>

#include "uptake/base/civil_time.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/sim/journey.hpp"
#include "uptake/calibrate/think_time.hpp"
#include "uptake/calibrate/scenario_writer.hpp"
#include "uptake/sim/calendar.hpp"

namespace uptake::calibrate {

std::string_view to_string(ModelKind kind) {
  switch (kind) {
    case ModelKind::automatic: return "auto";
    case ModelKind::mix: return "mix";
    case ModelKind::journeys: return "journeys";
  }
  return "auto";
}

std::optional<SessionKey> parse_session_key(std::string_view text, std::string& problem) {
  SessionKey key;
  key.text = std::string(text);
  if (text == "ip+ua") return key;
  if (text == "ip") {
    key.kind = SessionKey::Kind::address;
    return key;
  }
  for (auto [prefix, kind] : {std::pair{std::string_view("cookie:"), SessionKey::Kind::cookie}, std::pair{std::string_view("header:"), SessionKey::Kind::field}}) {
    if (text.starts_with(prefix) && text.size() > prefix.size()) {
      key.kind = kind;
      key.name = std::string(text.substr(prefix.size()));
      return key;
    }
  }
  problem = fmt::format("'{}' is not a session key", text);
  return std::nullopt;
}

std::uint64_t Calibration::malformed_lines() const {
  std::uint64_t total = 0;
  for (const auto& count : malformed) total += count.lines;
  return total;
}

namespace {

constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Counts over a range of indices that grows at either end as values arrive, for grids whose
// extent is the log's span (days, minutes), not its lines.
template <typename Cell>
class Grid {
 public:
  Cell& at(std::int64_t index) {
    if (cells_.empty()) {
      base_ = index;
      cells_.resize(1);
    } else if (index < base_) {
      const auto grow = static_cast<std::size_t>(base_ - index);
      cells_.insert(cells_.begin(), grow, Cell{});
      base_ = index;
    } else if (index >= base_ + static_cast<std::int64_t>(cells_.size())) {
      cells_.resize(static_cast<std::size_t>(index - base_ + 1));
    }
    return cells_[static_cast<std::size_t>(index - base_)];
  }
  std::int64_t base() const { return base_; }
  std::size_t size() const { return cells_.size(); }
  const Cell& operator[](std::size_t i) const { return cells_[i]; }
  bool empty() const { return cells_.empty(); }

 private:
  std::int64_t base_ = 0;
  std::vector<Cell> cells_;
};

struct MinuteCell {
  std::uint32_t requests = 0;
  std::uint64_t squares_1s = 0;   // sum over its seconds of count^2
  std::uint64_t squares_10s = 0;  // sum over its 10 s windows of count^2
};

// Counts of arrivals in time order: per minute, with the sums of squares of their per-second
// and per-10-second counts, so that the index of dispersion at 1, 10 and 60 s can be computed
// at the end from memory that grows with the span, not the lines.
struct CountStream {
  Grid<MinuteCell> minutes;
  std::int64_t second = INT64_MIN;
  std::uint32_t second_count = 0;
  std::int64_t ten = INT64_MIN;
  std::uint32_t ten_count = 0;
  std::uint64_t peak_second = 0;
  std::int64_t peak_second_at = 0;

  void add(std::int64_t s) {
    if (s != second) {
      flush_second();
      second = s;
      second_count = 0;
    }
    ++second_count;
    const auto t = floor_div(s, 10);
    if (t != ten) {
      flush_ten();
      ten = t;
      ten_count = 0;
    }
    ++ten_count;
    minutes.at(floor_div(s, 60)).requests += 1;
  }
  // An arrival out of order: it counts in its minute, not in the squares.
  void add_late(std::int64_t s) { minutes.at(floor_div(s, 60)).requests += 1; }
  void flush() {
    flush_second();
    flush_ten();
    second = ten = INT64_MIN;
  }

 private:
  void flush_second() {
    if (second == INT64_MIN) return;
    minutes.at(floor_div(second, 60)).squares_1s += static_cast<std::uint64_t>(second_count) * second_count;
    if (second_count > peak_second) {
      peak_second = second_count;
      peak_second_at = second;
    }
  }
  void flush_ten() {
    if (ten == INT64_MIN) return;
    minutes.at(floor_div(ten * 10, 60)).squares_10s += static_cast<std::uint64_t>(ten_count) * ten_count;
  }
};

struct Ordered {
  std::int64_t utc_ms;
  std::uint64_t session;
  std::uint32_t endpoint;
  bool whole_seconds;
  bool operator>(const Ordered& other) const { return utc_ms > other.utc_ms; }
};

struct Session {
  std::int64_t last_ms = 0;
  std::int32_t last_endpoint = -1;
  std::uint32_t length = 0;
};

constexpr std::size_t kLongestCountedSession = 50;
constexpr std::size_t kFirstLinesKept = 5;

}  // namespace

struct Calibrator::State {
  CalibrationOptions options;
  Router router;
  std::uint64_t requests = 0, excluded_static = 0, excluded_bots = 0, late = 0;
  std::array<MalformedCount, kMalformedReasons> malformed{};
  std::int64_t first_ms = INT64_MAX, last_ms = INT64_MIN;
  std::int64_t anchor_ms = INT64_MIN;  // the first request's time: the span is bounded around it
  std::vector<std::uint64_t> endpoint_requests;
  // Local days, each with 96 quarter-hour counts.
  Grid<std::array<std::uint32_t, 96>> days;
  std::unordered_map<std::int32_t, std::uint64_t> offsets;  // UTC offsets the log wrote, with their lines
  // In time order, after the reorder buffer.
  std::priority_queue<Ordered, std::vector<Ordered>, std::greater<>> reorder;
  std::int64_t newest_ms = INT64_MIN;
  std::int64_t emitted_ms = INT64_MIN;
  CountStream request_counts;
  CountStream session_counts;  // session arrivals: what a journeys scenario draws
  // Sessions.
  std::unordered_map<std::uint64_t, Session> sessions;
  std::int64_t next_sweep_ms = INT64_MIN;
  std::uint64_t session_count = 0, session_requests = 0, keyless = 0, most_open = 0, open_at_end = 0;
  std::vector<std::uint64_t> lengths = std::vector<std::uint64_t>(kLongestCountedSession + 1, 0);
  std::vector<std::vector<std::uint64_t>> transitions;  // [from + 1][to], to == exit_column for exit
  std::vector<std::uint64_t> exits;                      // [from + 1]
  std::vector<ThinkTimeSample> think;                    // per endpoint

  void fit_calendar(Calibration& result) const;
  // The offset of local time at a UTC instant: the zone asked for, else the log's most frequent offset.
  std::int64_t local_offset(std::int64_t utc_ms) const {
    if (options.time_zone) return static_cast<std::int64_t>(options.time_zone->offset_at(static_cast<double>(utc_ms) / 1000.0));
    if (offsets.empty()) return 0;
    return std::max_element(offsets.begin(), offsets.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
  }
  // Fills result.coverage; returns which minutes of the hour the log saw.
  std::array<bool, 60> fit_coverage(Calibration& result) const;

  explicit State(CalibrationOptions given) : options(std::move(given)), router(options.routes, options.keep_query) {}

  std::uint64_t session_of(const LogRecord& record) {
    const std::hash<std::string_view> hash;
    switch (options.session_key.kind) {
      case SessionKey::Kind::address: return hash(record.client);
      case SessionKey::Kind::cookie: {
        const auto& name = options.session_key.name;
        std::string_view cookies = record.cookie;
        while (!cookies.empty()) {
          const auto semicolon = cookies.find(';');
          auto pair = cookies.substr(0, semicolon);
          while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
          if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') return hash(pair.substr(name.size() + 1)) ^ 0x5bd1e995ULL;
          if (semicolon == std::string_view::npos) break;
          cookies.remove_prefix(semicolon + 1);
        }
        ++keyless;
        break;
      }
      case SessionKey::Kind::field:
        if (!record.session_field.empty()) return hash(record.session_field) ^ 0x9e3779b9ULL;
        ++keyless;
        break;
      case SessionKey::Kind::address_and_agent: break;
    }
    return hash(record.client) * 0x100000001b3ULL ^ hash(record.user_agent);
  }

  void count_transition(int from, std::uint32_t to) {
    auto& row = transitions[static_cast<std::size_t>(from + 1)];
    if (row.size() <= to) row.resize(to + 1, 0);
    ++row[to];
  }

  void close(const Session& session) {
    exits[static_cast<std::size_t>(session.last_endpoint + 1)] += 1;
    ++session_count;
    session_requests += session.length;
    ++lengths[std::min<std::size_t>(session.length, kLongestCountedSession)];
  }

  void grow_endpoint_tables() {
    const auto count = router.endpoints().size();
    if (transitions.size() < count + 1) {
      transitions.resize(count + 1);
      exits.resize(count + 1);
      think.resize(count);
      endpoint_requests.resize(count, 0);
    }
  }

  void in_order(const Ordered& event) {
    const std::int64_t ms = event.utc_ms;
    const bool is_late = ms < emitted_ms;
    if (is_late) {
      ++late;
      request_counts.add_late(floor_div(ms, 1000));
    } else {
      emitted_ms = ms;
      request_counts.add(floor_div(ms, 1000));
    }
    // Sessions.
    const auto timeout_ms = static_cast<std::int64_t>(options.session_timeout.count() * 1000);
    if (next_sweep_ms == INT64_MIN) next_sweep_ms = ms + timeout_ms;
    if (ms >= next_sweep_ms) {
      for (auto it = sessions.begin(); it != sessions.end();) {
        if (ms - it->second.last_ms > timeout_ms) {
          close(it->second);
          it = sessions.erase(it);
        } else {
          ++it;
        }
      }
      next_sweep_ms = ms + timeout_ms;
    }
    auto [it, fresh] = sessions.try_emplace(event.session);
    Session& session = it->second;
    if (!fresh && ms - session.last_ms > timeout_ms) {
      close(session);
      session = Session{};
      fresh = true;
    }
    if (fresh) {
      if (is_late) {
        session_counts.add_late(floor_div(ms, 1000));
      } else {
        session_counts.add(floor_div(ms, 1000));
      }
      count_transition(-1, event.endpoint);
      most_open = std::max<std::uint64_t>(most_open, sessions.size());
    } else {
      count_transition(session.last_endpoint, event.endpoint);
      const double resolution = event.whole_seconds ? 1.0 : 0.001;
      double gap = static_cast<double>(std::max<std::int64_t>(ms - session.last_ms, 0)) / 1000.0;
      // A gap below the clock's resolution is known only to lie under it: half of it stands in.
      if (gap < resolution) gap = resolution / 2;
      think[event.endpoint].add(gap);
    }
    session.last_ms = std::max(session.last_ms, ms);
    session.last_endpoint = static_cast<std::int32_t>(event.endpoint);
    ++session.length;
  }

  void drain(std::int64_t before_ms) {
    while (!reorder.empty() && reorder.top().utc_ms < before_ms) {
      const auto event = reorder.top();
      reorder.pop();
      in_order(event);
    }
  }
};

Calibrator::Calibrator(CalibrationOptions options) : state_(new State(std::move(options))) {}
Calibrator::~Calibrator() { delete state_; }

void Calibrator::add_malformed(Malformed reason, const std::string& file, std::uint64_t line) {
  auto& count = state_->malformed[static_cast<std::size_t>(reason)];
  count.reason = reason;
  ++count.lines;
  if (count.first.size() < kFirstLinesKept) count.first.push_back({file, line});
}

Malformed Calibrator::add(const LogRecord& record) {
  State& s = *state_;
  if (s.anchor_ms == INT64_MIN) s.anchor_ms = record.utc_ms;
  if (std::abs(record.utc_ms - s.anchor_ms) > kLongestSpanDays * 86'400'000) return Malformed::out_of_span;
  if (s.options.exclude_bots && is_bot(record.user_agent)) {
    ++s.excluded_bots;
    return Malformed::none;
  }
  if (s.options.exclude_static && is_static_asset(record.target)) {
    ++s.excluded_static;
    return Malformed::none;
  }
  const auto endpoint = s.router.route(record.method, record.target);
  s.grow_endpoint_tables();
  ++s.endpoint_requests[endpoint];
  ++s.requests;
  s.first_ms = std::min(s.first_ms, record.utc_ms);
  s.last_ms = std::max(s.last_ms, record.utc_ms);
  // Local time: the zone asked for, or the offset the log wrote, or UTC.
  std::int64_t offset = 0;
  if (s.options.time_zone) {
    offset = static_cast<std::int64_t>(s.options.time_zone->offset_at(static_cast<double>(record.utc_ms) / 1000.0));
  } else if (record.offset_seconds) {
    offset = *record.offset_seconds;
    ++s.offsets[*record.offset_seconds];
  }
  const std::int64_t local = floor_div(record.utc_ms, 1000) + offset;
  const auto day = floor_div(local, 86400);
  ++s.days.at(day)[static_cast<std::size_t>((local - day * 86400) / 900)];
  s.reorder.push(Ordered{record.utc_ms, s.session_of(record), endpoint, record.whole_seconds});
  if (record.utc_ms > s.newest_ms) s.newest_ms = record.utc_ms;
  s.drain(s.newest_ms - static_cast<std::int64_t>(s.options.reorder_window.count()) * 1000);
  return Malformed::none;
}


namespace {

unsigned weekday_index(std::int64_t day) {  // Monday 0 ... Sunday 6; 1970-01-01 was a Thursday
  return static_cast<unsigned>(((day % 7) + 7 + 3) % 7);
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

std::string offset_text(std::int64_t offset) {
  if (offset == 0) return "UTC";
  const auto magnitude = std::abs(offset);
  return fmt::format("{}{:02}:{:02}", offset < 0 ? '-' : '+', magnitude / 3600, magnitude % 3600 / 60);
}

std::string local_date(std::int64_t day) { return format_date(std::chrono::sys_days{std::chrono::days{day}}); }

}  // namespace

void Calibrator::State::fit_calendar(Calibration& result) const {
  auto& fit = result.calendar;
  if (options.time_zone) {
    fit.time_zone = options.time_zone->name();
  } else if (offsets.empty()) {
    fit.time_zone = "UTC";
  } else {
    const auto most = std::max_element(offsets.begin(), offsets.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    fit.time_zone = offset_text(most->first);
    if (offsets.size() > 1) {
      result.warnings.push_back(fmt::format("the log writes {} UTC offsets (a change of the clock, or servers in other zones); the scenario uses {}, "
                                            "the most frequent: give the zone by name (--timezone Europe/Berlin) so its changes are modelled",
                                            offsets.size(), fit.time_zone));
    }
  }
  const std::int64_t first_day = days.base();
  const std::int64_t last_day = first_day + static_cast<std::int64_t>(days.size()) - 1;
  fit.first_day = std::chrono::sys_days{std::chrono::days{first_day}};
  fit.last_day = std::chrono::sys_days{std::chrono::days{last_day}};
  // Whole days: those the log covers from midnight to midnight, give or take half an hour at
  // its ends (a log that starts at 00:00:36 covers its first day).
  std::vector<std::int64_t> whole;
  const auto first_local = floor_div(first_ms, 1000) + (first_ms == INT64_MAX ? 0 : local_offset(first_ms));
  const auto last_local = floor_div(last_ms, 1000) + local_offset(last_ms);
  for (auto day = first_day; day <= last_day; ++day) {
    if (first_local <= day * 86400 + 1800 && last_local >= (day + 1) * 86400 - 1800) whole.push_back(day);
  }
  fit.whole_days = static_cast<int>(whole.size());
  const auto total_of = [&](std::int64_t day) {
    const auto& bins = days[static_cast<std::size_t>(day - first_day)];
    return static_cast<double>(std::accumulate(bins.begin(), bins.end(), std::uint64_t{0}));
  };

  // Hour profile from whole days (or every day when there are none), pooled.
  std::array<std::uint64_t, 96> quarter{};
  const bool use_whole = !whole.empty();
  for (std::size_t i = 0; i < days.size(); ++i) {
    const auto day = first_day + static_cast<std::int64_t>(i);
    if (use_whole && std::find(whole.begin(), whole.end(), day) == whole.end()) continue;
    for (std::size_t q = 0; q < 96; ++q) quarter[q] += days[i][q];
  }
  const int bins = options.profile_bins;
  const auto per_bin = static_cast<std::size_t>(96 / bins);
  fit.hour_profile.assign(static_cast<std::size_t>(bins), Factor{});
  std::uint64_t profile_total = 0;
  for (std::size_t b = 0; b < static_cast<std::size_t>(bins); ++b) {
    for (std::size_t q = b * per_bin; q < (b + 1) * per_bin; ++q) fit.hour_profile[b].requests += quarter[q];
    profile_total += fit.hour_profile[b].requests;
  }
  for (auto& factor : fit.hour_profile) {
    factor.value = profile_total ? static_cast<double>(factor.requests) * bins / static_cast<double>(profile_total) : 1;
    factor.measured = true;
    factor.days = use_whole ? fit.whole_days : static_cast<int>(days.size());
  }
  // A log kept for part of each day only (an export of office hours) shows as quarter-hours with
  // no request right beside busy ones, every day: real demand fades, a cut-off log stops. It
  // cannot be told apart for certain, so it is said, not corrected.
  const auto busiest_quarter = *std::max_element(quarter.begin(), quarter.end());
  if (profile_total >= 2000) {
    std::vector<std::string> cliffs;
    for (std::size_t q = 0; q < 96; ++q) {
      const auto next = (q + 1) % 96;
      const bool stops = static_cast<double>(quarter[q]) >= 0.3 * static_cast<double>(busiest_quarter) && quarter[next] == 0;
      const bool starts = quarter[q] == 0 && static_cast<double>(quarter[next]) >= 0.3 * static_cast<double>(busiest_quarter);
      if (stops || starts) cliffs.push_back(fmt::format("{} at {:02}:{:02}", stops ? "stop" : "start", next / 4, next % 4 * 15));
    }
    if (!cliffs.empty()) {
      result.warnings.push_back(fmt::format("requests {} abruptly every day ({}): if the log covers only part of each day, the other hours are "
                                            "unmeasured, not idle, and the hour profile and volume leave them out",
                                            cliffs.size() == 1 ? "change" : "start and stop", fmt::join(cliffs, ", ")));
    }
  }
  if (!use_whole) {
    result.warnings.push_back(fmt::format("the log covers no whole local day ({} to {}): the hour profile comes from part of a day or two, and "
                                          "weekday and month factors are left at 1",
                                          local_date(first_day), local_date(last_day)));
  }

  // Weekday factors, then month factors on what weekdays leave, then weekdays again.
  std::array<std::vector<std::pair<std::int64_t, double>>, 7> by_weekday;
  for (auto day : whole) by_weekday[weekday_index(day)].emplace_back(day, total_of(day));
  // A day far quieter than the usual one of its weekday is taken for a holiday (and listed to check).
  std::vector<std::int64_t> holidays;
  for (const auto& list : by_weekday) {
    if (list.size() < 3) continue;
    std::vector<double> totals(list.size());
    std::transform(list.begin(), list.end(), totals.begin(), [](const auto& entry) { return entry.second; });
    const double usual = median(totals);
    for (const auto& [day, total] : list) {
      if (usual > 50 && total < 0.5 * usual) {
        holidays.push_back(day);
        fit.holidays.push_back({std::chrono::sys_days{std::chrono::days{day}}, total / usual});
      }
    }
  }
  std::sort(fit.holidays.begin(), fit.holidays.end(), [](const Holiday& a, const Holiday& b) { return a.date < b.date; });
  const auto is_holiday = [&](std::int64_t day) { return std::find(holidays.begin(), holidays.end(), day) != holidays.end(); };
  std::array<double, 12> month_factor;
  month_factor.fill(1.0);
  const auto month_of_day = [](std::int64_t day) {
    const auto ymd = std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{day}}};
    return static_cast<unsigned>(ymd.month()) - 1;
  };
  for (int pass = 0; pass < 2; ++pass) {
    double sum = 0;
    int measured = 0;
    for (unsigned w = 0; w < 7; ++w) {
      Factor& factor = fit.weekday[w];
      factor = Factor{};
      double weighted = 0;
      for (const auto& [day, total] : by_weekday[w]) {
        if (is_holiday(day)) continue;
        weighted += total / month_factor[month_of_day(day)];
        factor.requests += static_cast<std::uint64_t>(total);
        ++factor.days;
      }
      if (factor.days > 0) {
        factor.value = weighted / factor.days;
        factor.measured = true;
        sum += factor.value;
        ++measured;
      }
    }
    for (auto& factor : fit.weekday) factor.value = factor.measured && sum > 0 ? factor.value * measured / sum : 1.0;
    // Months: a month is measured from at least 7 whole days of it.
    std::array<double, 12> month_sum{};
    std::array<int, 12> month_days{};
    std::array<std::uint64_t, 12> month_requests{};
    for (auto day : whole) {
      if (is_holiday(day)) continue;
      const auto m = month_of_day(day);
      month_sum[m] += total_of(day) / fit.weekday[weekday_index(day)].value;
      ++month_days[m];
      month_requests[m] += static_cast<std::uint64_t>(total_of(day));
    }
    int months = 0;
    double mean = 0;
    for (int m = 0; m < 12; ++m) {
      if (month_days[m] >= 7) {
        ++months;
        mean += month_sum[m] / month_days[m];
      }
    }
    for (int m = 0; m < 12; ++m) {
      fit.month[m] = Factor{1.0, month_requests[m], month_days[m], false};
      if (months >= 2 && month_days[m] >= 7) {
        fit.month[m].value = month_sum[m] / month_days[m] / (mean / months);
        fit.month[m].measured = true;
      }
      month_factor[m] = fit.month[m].value;
    }
  }
  if (!holidays.empty()) {
    // Each holiday against a usual day of its weekday and month; the scenario's holiday factor
    // replaces the weekday factor, so it is that ratio times the weekday's factor.
    double base = 0;
    int usual_days = 0;
    for (auto day : whole) {
      if (is_holiday(day)) continue;
      base += total_of(day) / (fit.weekday[weekday_index(day)].value * month_factor[month_of_day(day)]);
      ++usual_days;
    }
    base /= std::max(usual_days, 1);
    double factor = 0;
    for (auto& holiday : fit.holidays) {
      const auto day = holiday.date.time_since_epoch().count();
      const double weekday = fit.weekday[weekday_index(day)].value;
      holiday.ratio = total_of(day) / (base * weekday * month_factor[month_of_day(day)]);
      factor += holiday.ratio * weekday;
    }
    fit.holiday_factor = factor / static_cast<double>(fit.holidays.size());
  }
  if (use_whole) {
    std::vector<std::string> thin;
    static constexpr const char* kNames[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
    for (unsigned w = 0; w < 7; ++w) {
      if (fit.weekday[w].days < 2) thin.push_back(fmt::format("{} ({} day{})", kNames[w], fit.weekday[w].days, fit.weekday[w].days == 1 ? "" : "s"));
    }
    if (!thin.empty()) {
      result.warnings.push_back(fmt::format("the log is too short for weekday factors: fewer than two whole days of {}; those measured rest on one day "
                                            "each and the others are left at 1",
                                            fmt::join(thin, ", ")));
    }
    int measured_months = 0;
    for (const auto& month : fit.month) measured_months += month.measured;
    if (measured_months == 0) {
      result.warnings.push_back("month factors are left at 1: they need at least 7 whole days in each of two months or more");
    }
  }
}

std::array<bool, 60> Calibrator::State::fit_coverage(Calibration& result) const {
  const auto& minutes = request_counts.minutes;
  auto& coverage = result.coverage;
  coverage.span_seconds = static_cast<double>(last_ms - first_ms) / 1000.0 + 1;
  // Minutes of the hour with requests, over the whole log: a log sampled ten minutes an hour has
  // requests in only ten of them, however busy.
  std::array<std::uint64_t, 60> by_minute{};
  for (std::size_t i = 0; i < minutes.size(); ++i) by_minute[static_cast<std::size_t>((minutes.base() + static_cast<std::int64_t>(i)) % 60 + 60) % 60] += minutes[i].requests;
  const auto busiest = *std::max_element(by_minute.begin(), by_minute.end());
  std::array<bool, 60> seen{};
  coverage.minutes_of_hour_seen = 0;
  for (int m = 0; m < 60; ++m) {
    // Judged only where a minute of the hour would hold some 20 requests or more.
    seen[static_cast<std::size_t>(m)] = requests < 1200 || static_cast<double>(by_minute[static_cast<std::size_t>(m)]) >= 0.1 * static_cast<double>(busiest);
    coverage.minutes_of_hour_seen += seen[static_cast<std::size_t>(m)];
  }
  // Gaps: stretches of whole UTC hours without a request where the same clock hours of the
  // other days held some 20 requests or more in all (a Poisson count that size is zero with a
  // chance of 2e-9). Clock hours that are quiet every day are the service's night, not a gap:
  // a log that covers only part of every day cannot be told from that, and is not.
  std::array<double, 24> typical{};
  for (std::size_t d = 0; d < days.size(); ++d) {
    for (std::size_t q = 0; q < 96; ++q) typical[q / 4] += days[d][q];
  }
  for (auto& t : typical) t /= static_cast<double>(std::max<std::size_t>(days.size(), 1));
  std::vector<std::uint64_t> hours;
  const std::int64_t first_hour = floor_div(minutes.base(), 60);
  for (std::size_t i = 0; i < minutes.size(); ++i) {
    const auto hour = static_cast<std::size_t>(floor_div(minutes.base() + static_cast<std::int64_t>(i), 60) - first_hour);
    if (hours.size() <= hour) hours.resize(hour + 1, 0);
    hours[hour] += minutes[i].requests;
  }
  double gap_seconds = 0;
  for (std::size_t h = 1; h + 1 < hours.size(); ++h) {
    if (hours[h] != 0) continue;
    auto end = h;
    while (end + 1 < hours.size() && hours[end] == 0) ++end;
    double expected = 0;
    for (auto k = h; k < end; ++k) {
      const auto utc = (first_hour + static_cast<std::int64_t>(k)) * 3600;
      const auto local_hour = static_cast<std::size_t>(floor_div(utc + local_offset(utc * 1000), 3600) % 24 + 24) % 24;
      expected += typical[local_hour] * coverage.minutes_of_hour_seen / 60.0;
    }
    if (expected >= 20) {
      const auto from = (first_hour + static_cast<std::int64_t>(h)) * 3600;
      const auto to = (first_hour + static_cast<std::int64_t>(end)) * 3600;
      coverage.gaps.emplace_back(from, to);
      gap_seconds += static_cast<double>(to - from);
    }
    h = end;
  }
  coverage.seen_fraction = coverage.minutes_of_hour_seen / 60.0 * std::max(0.0, 1 - gap_seconds / coverage.span_seconds);
  if (coverage.minutes_of_hour_seen < 60) {
    result.warnings.push_back(fmt::format("the log looks sampled: it has requests in only {} of the 60 minutes of each hour, so it saw {:.0f}% of the "
                                          "time; volumes are scaled up by that and dispersion is measured on the minutes it saw",
                                          coverage.minutes_of_hour_seen, 100.0 * coverage.minutes_of_hour_seen / 60));
  }
  for (const auto& [from, to] : coverage.gaps) {
    result.warnings.push_back(fmt::format("no request from {} to {} UTC, where the same hours of other days had requests: a gap in the log? It counts as unseen time",
                                          format_date_time(std::chrono::sys_seconds{std::chrono::seconds{from}}),
                                          format_date_time(std::chrono::sys_seconds{std::chrono::seconds{to}})));
  }
  return seen;
}

namespace {

// The index of dispersion per UTC hour, on the minutes seen; only hours the log covers whole.
// The rate of each hour is its own count: the index measures bursts within hours, not the
// hour profile.
Burstiness measure_dispersion(const Grid<MinuteCell>& minutes, const std::array<bool, 60>& seen, std::int64_t first_ms, std::int64_t last_ms) {
  Burstiness burst;
  const std::array<double, 3> windows = {1, 10, 60};
  std::array<double, 3> squares{}, expected{};
  std::array<std::vector<std::pair<double, double>>, 3> per_hour;  // (S, H (1 - 1/n)) for the interval
  std::array<std::uint64_t, 3> window_count{};
  double gamma_numerator = 0, gamma_denominator = 0, mean_square_per_minute = 0, hour_requests = 0;
  const std::int64_t first_whole_hour = floor_div(floor_div(first_ms, 1000) + 3599, 3600);
  const std::int64_t end_whole_hour = floor_div(floor_div(last_ms, 1000) + 1, 3600);
  for (std::int64_t hour = first_whole_hour; hour < end_whole_hour; ++hour) {
    double total = 0, minute_squares = 0, squares_1 = 0, squares_10 = 0;
    int k = 0;
    for (int m = 0; m < 60; ++m) {
      if (!seen[static_cast<std::size_t>(m)]) continue;
      const auto index = hour * 60 + m - minutes.base();
      ++k;
      if (index < 0 || index >= static_cast<std::int64_t>(minutes.size())) continue;
      const auto& cell = minutes[static_cast<std::size_t>(index)];
      total += cell.requests;
      minute_squares += static_cast<double>(cell.requests) * cell.requests;
      squares_1 += static_cast<double>(cell.squares_1s);
      squares_10 += static_cast<double>(cell.squares_10s);
    }
    if (total < 1 || k < 2) continue;
    ++burst.hours;
    const std::array<double, 3> sums = {squares_1, squares_10, minute_squares};
    for (std::size_t w = 0; w < 3; ++w) {
      const double n = k * 60 / windows[w];
      const double s = sums[w] - total * total / n;
      const double h = total * (1 - 1 / n);
      squares[w] += s;
      expected[w] += h;
      per_hour[w].emplace_back(s, h);
      window_count[w] += static_cast<std::uint64_t>(n);
    }
    gamma_numerator += k * (minute_squares - total * total / k) / (k - 1) - total;
    gamma_denominator += total * total / k;
    mean_square_per_minute += total * total / k;
    hour_requests += total;
  }
  const double variance = gamma_denominator > 0 ? std::max(0.0, gamma_numerator / gamma_denominator) : 0;
  burst.rate_cv = std::sqrt(variance);
  for (std::size_t w = 0; w < 3; ++w) {
    Dispersion d;
    d.window_seconds = windows[w];
    d.windows = window_count[w];
    if (expected[w] > 0) {
      d.index = squares[w] / expected[w];
      // Delta method for a ratio of sums, hours as independent units.
      double spread = 0;
      for (const auto& [s, h] : per_hour[w]) spread += (s - d.index * h) * (s - d.index * h);
      const double standard_error = std::sqrt(spread) / expected[w];
      d.low = d.index - 1.96 * standard_error;
      d.high = d.index + 1.96 * standard_error;
      // The model: a gamma multiplier per minute, so a window of w seconds has variance mu + mu^2 v.
      d.predicted = hour_requests > 0 ? 1 + variance * (windows[w] / 60) * mean_square_per_minute / hour_requests : 1;
    }
    burst.dispersion.push_back(d);
  }
  burst.over_dispersed = !burst.dispersion.empty() && burst.dispersion.back().low > 1 && burst.hours >= 2;
  if (!burst.over_dispersed) burst.rate_cv = 0;
  return burst;
}

}  // namespace


Calibration Calibrator::finish(std::vector<std::string> files) {
  State& s = *state_;
  Calibration result;
  result.files = std::move(files);
  result.options = s.options;
  result.lines = lines_;
  for (const auto& count : s.malformed) {
    if (count.lines > 0) result.malformed.push_back(count);
  }
  result.excluded_bots = s.excluded_bots;
  result.excluded_static = s.excluded_static;
  if (s.requests == 0) {
    std::string why = "no line of the logs is a request";
    if (s.excluded_bots + s.excluded_static > 0) {
      why = fmt::format("every request was excluded ({} by --exclude-bots, {} by --exclude-static)", s.excluded_bots, s.excluded_static);
    } else if (!result.malformed.empty()) {
      std::vector<std::string> reasons;
      for (const auto& count : result.malformed) {
        reasons.push_back(fmt::format("{} ({} lines, first at {}:{})", describe(count.reason), count.lines, count.first.front().file, count.first.front().line));
      }
      why += fmt::format(": {}", fmt::join(reasons, "; "));
    }
    throw InputError({result.files.empty() ? std::string() : result.files.front(), 0, 0}, "LOG", why,
                     "access logs in the combined or common format, or JSON lines (see --log-format and --json-field)");
  }
  s.drain(INT64_MAX);
  s.request_counts.flush();
  s.session_counts.flush();
  s.open_at_end = s.sessions.size();
  for (const auto& [key, session] : s.sessions) s.close(session);
  s.sessions.clear();

  result.requests = s.requests;
  result.late = s.late;
  result.first_utc_ms = s.first_ms;
  result.last_utc_ms = s.last_ms;
  result.peak_second_requests = s.request_counts.peak_second;
  result.peak_second_utc = s.request_counts.peak_second_at;
  result.endpoints_overflowed = s.router.overflowed();
  if (result.endpoints_overflowed) {
    result.warnings.push_back(fmt::format("more than {} endpoints: the rest are counted as 'other'; name them with --route", Router::kMostEndpoints));
  }

  // Endpoints by requests, most first; the tables are put in that order.
  const auto& endpoints = s.router.endpoints();
  std::vector<std::size_t> order(endpoints.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return s.endpoint_requests[a] > s.endpoint_requests[b]; });
  std::vector<std::size_t> rank(endpoints.size());
  for (std::size_t r = 0; r < order.size(); ++r) rank[order[r]] = r;
  const double n = static_cast<double>(s.requests);
  for (auto e : order) {
    const double share = static_cast<double>(s.endpoint_requests[e]) / n;
    result.endpoints.push_back({endpoints[e], s.endpoint_requests[e], share, std::sqrt(share * (1 - share) / n)});
  }

  s.fit_calendar(result);
  const auto seen_minutes = s.fit_coverage(result);
  result.burstiness = measure_dispersion(s.request_counts.minutes, seen_minutes, s.first_ms, s.last_ms);

  // Hourly counts over the span, in local clock hours.
  result.first_local_hour = s.days.base() * 24;
  result.hourly_counts.assign(s.days.size() * 24, 0);
  for (std::size_t d = 0; d < s.days.size(); ++d) {
    for (std::size_t q = 0; q < 96; ++q) result.hourly_counts[d * 24 + q / 4] += s.days[d][q];
  }
  const double seen = std::max(result.coverage.seen_fraction, 1e-9);
  result.peak_hour_requests = static_cast<double>(*std::max_element(result.hourly_counts.begin(), result.hourly_counts.end())) / seen;
  // The local year with most requests.
  std::map<int, std::uint64_t> by_year;
  for (std::size_t d = 0; d < s.days.size(); ++d) {
    const auto ymd = std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{s.days.base() + static_cast<std::int64_t>(d)}}};
    for (auto count : s.days[d]) by_year[static_cast<int>(ymd.year())] += count;
  }
  result.year = std::max_element(by_year.begin(), by_year.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;

  // Sessions, with the tables in endpoint rank order.
  auto& sessions = result.sessions;
  sessions.sessions = s.session_count;
  sessions.requests = s.session_requests;
  sessions.open_at_end = s.open_at_end;
  sessions.keyless = s.keyless;
  sessions.most_open = s.most_open;
  sessions.length_counts = s.lengths;
  const auto count = endpoints.size();
  sessions.transitions.assign(count + 1, std::vector<std::uint64_t>(count + 1, 0));
  for (std::size_t from = 0; from < count + 1; ++from) {
    const auto to_row = from == 0 ? 0 : rank[from - 1] + 1;
    for (std::size_t to = 0; to < s.transitions[from].size(); ++to) sessions.transitions[to_row][rank[to]] += s.transitions[from][to];
    sessions.transitions[to_row][count] += s.exits[from];
  }
  sessions.think_times.resize(count);
  for (std::size_t e = 0; e < count; ++e) sessions.think_times[rank[e]] = fit_think_time(s.think[e]);
  if (sessions.keyless > 0) {
    result.warnings.push_back(fmt::format("{} requests had no {} and were keyed by address and user agent instead", sessions.keyless, s.options.session_key.text));
  }
  result.model = s.options.model;
  if (result.model == ModelKind::automatic) {
    result.model = sessions.sessions >= 100 && sessions.mean_requests_per_session() >= 1.5 ? ModelKind::journeys : ModelKind::mix;
  }
  sessions.chain_requests_per_session = chain_requests_per_session(result);
  if (result.model == ModelKind::journeys) result.session_burstiness = measure_dispersion(s.session_counts.minutes, seen_minutes, s.first_ms, s.last_ms);
  const auto& arrivals = result.arrival_burstiness();
  if (arrivals.hours < 24) {
    result.warnings.push_back(fmt::format("burstiness rests on {} whole hour{} of the log: its interval is wide", arrivals.hours, arrivals.hours == 1 ? "" : "s"));
  }

  // The year's volume: the requests seen, over the share of the year the log covers by the
  // fitted calendar, and over the share of that time the log saw.
  const auto calendar = scenario_calendar(result);
  const sim::CalendarShape shape(calendar);
  double share = 0;
  const auto first_local = static_cast<double>(floor_div(s.first_ms, 1000)) + shape.time_zone().offset_at(static_cast<double>(s.first_ms) / 1000);
  const auto last_local = static_cast<double>(floor_div(s.last_ms, 1000)) + shape.time_zone().offset_at(static_cast<double>(s.last_ms) / 1000);
  for (auto day = s.days.base(); day < s.days.base() + static_cast<std::int64_t>(s.days.size()); ++day) {
    const double day_start = static_cast<double>(day) * 86400;
    double covered = 0;
    for (int b = 0; b < shape.bins_per_day(); ++b) {
      const double bin_start = day_start + b * shape.bin_seconds();
      const double bin_end = bin_start + shape.bin_seconds();
      const double overlap = std::max(0.0, std::min(bin_end, last_local + 1) - std::max(bin_start, first_local));
      covered += shape.bin_share(b) * overlap / shape.bin_seconds();
    }
    share += shape.day_share(std::chrono::sys_days{std::chrono::days{day}}) * covered;
  }
  result.yearly_requests = share > 0 ? n / seen / share : 0;
  if (s.late > 0) {
    result.warnings.push_back(fmt::format("{} requests came more than {} s out of time order: counted, but not in sessions' order or the per-second figures",
                                          s.late, s.options.reorder_window.count()));
  }
  return result;
}

Calibration calibrate_logs(const std::vector<std::string>& paths, const CalibrationOptions& options) {
  if (options.session_key.kind == SessionKey::Kind::field && options.format != LogFormat::json) {
    throw InputError({}, "--session-key", fmt::format("'{}' needs JSON lines with that field", options.session_key.text),
                     "ip+ua, ip or cookie:NAME for text logs; header:NAME with --log-format json");
  }
  const std::string session_field = options.session_key.kind == SessionKey::Kind::field ? options.session_key.name : std::string();
  // Files in the order of their first request, so that rotated logs given in any order stream
  // as one log (lines within a file may still stray by the reorder window).
  std::vector<std::pair<std::int64_t, std::string>> ordered;
  for (const auto& path : paths) {
    LineReader reader(path);
    LineParser parser(options.format, options.json_fields, session_field);
    std::string_view line;
    bool truncated = false;
    LogRecord record;
    std::int64_t first = INT64_MAX;
    for (int tries = 0; tries < 1000 && reader.next(line, truncated); ++tries) {
      if (!truncated && parser.parse(line, record) == Malformed::none) {
        first = record.utc_ms;
        break;
      }
    }
    ordered.emplace_back(first, path);
  }
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  Calibrator calibrator(options);
  for (const auto& [first, path] : ordered) {
    LineReader reader(path);
    LineParser parser(options.format, options.json_fields, session_field);
    std::string_view line;
    bool truncated = false;
    LogRecord record;
    while (reader.next(line, truncated)) {
      calibrator.add_line();
      auto outcome = truncated ? Malformed::too_long : parser.parse(line, record);
      if (outcome == Malformed::none) outcome = calibrator.add(record);
      if (outcome != Malformed::none && outcome != Malformed::empty) {
        calibrator.add_malformed(outcome, path, reader.line_number());
      }
    }
  }
  return calibrator.finish(paths);
}

}  // namespace uptake::calibrate
