#include "uptake/calibrate/scenario_writer.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "uptake/base/civil_time.hpp"
#include "uptake/base/duration_distribution.hpp"
#include "uptake/calibrate/think_time.hpp"
#include "uptake/sim/journey.hpp"

namespace uptake::calibrate {

namespace {

constexpr const char* kStartStep = "session";
constexpr std::int64_t kMillionths = 1'000'000;

std::string first_step(const std::string& endpoint) { return endpoint + "@first"; }

// Counts as probabilities in millionths that sum to exactly one million: each rounded, the
// largest taking up the difference. Zeros are left out.
std::vector<std::pair<std::size_t, std::int64_t>> millionths(const std::vector<std::uint64_t>& counts, bool keep_small = false) {
  const double total = static_cast<double>(std::accumulate(counts.begin(), counts.end(), std::uint64_t{0}));
  std::vector<std::pair<std::size_t, std::int64_t>> result;
  if (total <= 0) return result;
  std::int64_t sum = 0;
  std::size_t largest = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    auto value = static_cast<std::int64_t>(std::llround(static_cast<double>(counts[i]) / total * kMillionths));
    if (value == 0 && keep_small) value = 1;
    if (value == 0) continue;
    if (result.empty() || counts[i] > counts[result[largest].first]) largest = result.size();
    result.emplace_back(i, value);
    sum += value;
  }
  result[largest].second += kMillionths - sum;
  return result;
}

std::string probability(std::int64_t millionths_value) {
  auto text = fmt::format("{:.6f}", static_cast<double>(millionths_value) / kMillionths);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

std::string weight(double value) {
  if (value == 0) return "0";
  return fmt::format("{:.4g}", value);
}

std::string yaml_quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string thousands(double value) {
  auto digits = fmt::format("{:.0f}", value);
  std::string out;
  const auto start = digits[0] == '-' ? 1u : 0u;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > start && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string local_time(const Calibration& c, std::int64_t utc_ms) {
  const auto zone = scenario_calendar(c).time_zone;
  const auto local = zone.to_local(static_cast<double>(utc_ms) / 1000);
  return format_date_time(std::chrono::sys_seconds{std::chrono::seconds{static_cast<std::int64_t>(std::floor(local))}}).substr(0, 16);
}

std::string excluded_text(const Calibration& c) {
  std::vector<std::string> parts;
  if (c.options.exclude_static) parts.push_back(fmt::format("{} static assets (--exclude-static)", thousands(static_cast<double>(c.excluded_static))));
  if (c.options.exclude_bots) parts.push_back(fmt::format("{} requests of bots by user agent (--exclude-bots)", thousands(static_cast<double>(c.excluded_bots))));
  if (c.malformed_lines() > 0) {
    std::vector<std::string> reasons;
    for (const auto& m : c.malformed) reasons.push_back(fmt::format("{} {}", m.lines, describe(m.reason)));
    parts.push_back(fmt::format("{} malformed lines ({})", thousands(static_cast<double>(c.malformed_lines())), fmt::join(reasons, ", ")));
  }
  return parts.empty() ? "nothing" : fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace

sim::Calendar scenario_calendar(const Calibration& c) {
  sim::Calendar calendar;
  if (c.options.time_zone) {
    calendar.time_zone = *c.options.time_zone;
  } else {
    const auto offset = parse_utc_offset(c.calendar.time_zone);
    calendar.time_zone = sim::TimeZone(offset.value_or(std::chrono::seconds{0}), c.calendar.time_zone);
  }
  for (const auto& m : c.calendar.month) calendar.month_factors.push_back(m.value);
  for (const auto& w : c.calendar.weekday) calendar.weekday_factors.push_back(w.value);
  for (const auto& h : c.calendar.holidays) calendar.holidays.push_back(h.date);
  calendar.holiday_factor = c.calendar.holiday_factor;
  for (const auto& h : c.calendar.hour_profile) calendar.hour_profile.push_back(h.value);
  return calendar;
}

sim::Journeys scenario_journeys(const Calibration& c) {
  sim::Journeys journeys;
  journeys.start = kStartStep;
  const auto& t = c.sessions.transitions;
  const auto count = c.endpoints.size();
  const auto successors = [&](std::size_t row, bool from_start) {
    std::vector<std::pair<std::string, double>> next;
    for (const auto& [column, value] : millionths(t[row])) {
      const auto name = column == count ? std::string("exit") : from_start ? first_step(c.endpoints[column].endpoint.name) : c.endpoints[column].endpoint.name;
      next.emplace_back(name, static_cast<double>(value) / kMillionths);
    }
    return next;
  };
  journeys.steps.push_back({kStartStep, "", successors(0, true), std::nullopt});
  for (std::size_t e = 0; e < count; ++e) {
    const auto& name = c.endpoints[e].endpoint.name;
    auto next = successors(e + 1, false);
    if (next.empty()) next.emplace_back("exit", 1.0);
    if (t[0][e] > 0) journeys.steps.push_back({first_step(name), name, next, std::nullopt});
    std::optional<DurationDistribution> think;
    const auto& fit = c.sessions.think_times[e];
    if (fit.gaps > 0) {
      std::string problem;
      think = DurationDistribution::parse(fit.distribution, problem);
    }
    journeys.steps.push_back({name, name, next, think});
  }
  return journeys;
}

double chain_requests_per_session(const Calibration& c) {
  if (c.sessions.transitions.empty() || c.sessions.sessions == 0) return 0;
  double total = 0;
  for (const auto& visits : sim::expected_endpoint_requests(scenario_journeys(c))) total += visits.requests_per_journey;
  return total;
}

ScenarioVolume scenario_volume(const Calibration& c) {
  ScenarioVolume volume;
  if (c.model == ModelKind::journeys) {
    volume.series = "sessions";
    volume.yearly = c.yearly_requests / std::max(c.sessions.chain_requests_per_session, 1e-9);
  } else {
    volume.series = "requests";
    volume.yearly = c.yearly_requests;
  }
  const double scale = std::min(1.0, 1200.0 / std::max(c.peak_hour_requests, 1.0));
  const double magnitude = std::pow(10.0, std::floor(std::log10(scale)) - 1);
  volume.replay_scale = std::max(magnitude, std::round(scale / magnitude) * magnitude);
  return volume;
}

std::string render_scenario(const Calibration& c, const std::string& name) {
  const auto volume = scenario_volume(c);
  const double days = static_cast<double>(c.last_utc_ms - c.first_utc_ms) / 86400000.0;
  std::vector<std::string> file_names;
  for (const auto& file : c.files) file_names.push_back(std::filesystem::path(file).filename().string());
  std::string out;
  out += fmt::format("# Calibrated by `uptake calibrate` from {} lines of {} log file{} ({}).\n", thousands(static_cast<double>(c.lines)), c.files.size(),
                     c.files.size() == 1 ? "" : "s", fmt::join(file_names, ", "));
  out += fmt::format("# Measured: {} requests from {} to {} ({}), {:.1f} days of which {} whole local days;\n", thousands(static_cast<double>(c.requests)),
                     local_time(c, c.first_utc_ms), local_time(c, c.last_utc_ms), c.calendar.time_zone, days, c.calendar.whole_days);
  out += fmt::format("# the log saw {:.0f}% of that time. Excluded: {}.\n", 100 * c.coverage.seen_fraction, excluded_text(c));
  out += fmt::format("# Endpoints: {} ({} from --route rules, the rest by path with identifiers as {{id}}).\n", c.endpoints.size(),
                     std::count_if(c.endpoints.begin(), c.endpoints.end(), [](const EndpointCount& e) { return !e.endpoint.rule.empty(); }));
  if (c.model == ModelKind::journeys) {
    out += fmt::format("# Sessions by {} with a {} inactivity timeout: {}, {:.2f} requests each as observed, {:.2f} by the chain below.\n",
                       c.options.session_key.text, format_duration(c.options.session_timeout), thousands(static_cast<double>(c.sessions.sessions)),
                       c.sessions.mean_requests_per_session(), c.sessions.chain_requests_per_session);
  }
  if (!c.burstiness.dispersion.empty()) {
    const auto& d = c.burstiness.dispersion;
    out += fmt::format("# Dispersion of counts against a Poisson process with the same hourly rates (1 = Poisson), over {} hours: 1 s {:.2f}, 10 s {:.2f}, "
                       "60 s {:.2f} [{:.2f}, {:.2f}].\n",
                       c.burstiness.hours, d[0].index, d[1].index, d[2].index, d[2].low, d[2].high);
  }
  for (const auto& warning : c.warnings) out += fmt::format("# Warning: {}\n", warning);
  out += "# Still to supply: the history of yearly volumes (only one year is measured here, annualised from the log),\n"
         "# SLOs, and the requests' bodies, headers, captures and checks (marked TODO in flows).\n";
  out += fmt::format("name: {}\n", name);
  out += fmt::format("description: {}\n", yaml_quoted(fmt::format("Measured from {} requests of access logs ({} to {}).", thousands(static_cast<double>(c.requests)),
                                                              local_time(c, c.first_utc_ms).substr(0, 10), local_time(c, c.last_utc_ms).substr(0, 10))));
  out += "seed: 1\n\nhistory:\n  series:\n";
  out += fmt::format("    {}:\n", volume.series);
  out += fmt::format("      unit: {}\n", volume.series == "sessions" ? "sessions (measured from access logs)" : "requests (measured from access logs)");
  out += fmt::format("      yearly: {{ {}: {:.0f} }}   # annualised from the log with the calendar below; TODO: the measured yearly volumes\n", c.year,
                     std::max(1.0, std::round(volume.yearly)));
  out += "      model: exponential\n      fixed: { b: 0 }   # flat: one year cannot show growth; remove once the history has more years\n";
  out += fmt::format("growth:\n  project_to: {}\n\n", c.year);

  const auto& cal = c.calendar;
  out += "calendar:\n";
  out += fmt::format("  timezone: \"{}\"\n", cal.time_zone);
  std::vector<std::string> months, month_notes, weekdays, weekday_days, profile;
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t m = 0; m < 12; ++m) {
    months.push_back(weight(cal.month[m].value));
    if (cal.month[m].measured) month_notes.push_back(fmt::format("{} ({} days)", kMonths[m], cal.month[m].days));
  }
  for (const auto& w : cal.weekday) {
    weekdays.push_back(weight(w.value));
    weekday_days.push_back(std::to_string(w.days));
  }
  for (const auto& h : cal.hour_profile) profile.push_back(weight(h.value));
  out += fmt::format("  month_factors: [{}]   # {}\n", fmt::join(months, ", "),
                     month_notes.empty() ? "not measured: the log spans too few months" : fmt::format("measured: {}; the others left at 1", fmt::join(month_notes, ", ")));
  out += fmt::format("  weekday_factors: [{}]   # Mon..Sun; whole days behind each: {}\n", fmt::join(weekdays, ", "), fmt::join(weekday_days, ", "));
  if (!cal.holidays.empty()) {
    std::vector<std::string> dates;
    for (const auto& h : cal.holidays) dates.push_back(format_date(h.date));
    out += fmt::format("  holidays: [{}]   # far quieter than their weekday: check each\n", fmt::join(dates, ", "));
    out += fmt::format("  holiday_factor: {}\n", weight(cal.holiday_factor));
  }
  std::uint64_t profile_requests = 0;
  for (const auto& h : cal.hour_profile) profile_requests += h.requests;
  out += fmt::format("  # {} bins from local midnight, from {} requests (a bin of n requests is known to about 1/sqrt(n))\n", cal.hour_profile.size(),
                     thousands(static_cast<double>(profile_requests)));
  out += "  hour_profile: [";
  for (std::size_t i = 0; i < profile.size(); ++i) {
    if (i > 0) out += i % 12 == 0 ? ",\n                 " : ", ";
    out += profile[i];
  }
  out += "]\n\n";

  if (c.model == ModelKind::journeys) {
    const auto journeys = scenario_journeys(c);
    out += fmt::format("journeys:\n  series: sessions\n  start: {}\n  steps:\n", journeys.start);
    for (const auto& step : journeys.steps) {
      std::vector<std::string> next;
      for (const auto& [to, p] : step.next) next.push_back(fmt::format("{}: {}", yaml_quoted(to), probability(std::llround(p * kMillionths))));
      std::string line = fmt::format("    {}: {{ ", yaml_quoted(step.name));
      if (!step.endpoint.empty()) line += fmt::format("endpoint: {}, ", step.endpoint);
      if (step.think_time) line += fmt::format("think_time: {}, ", yaml_quoted(step.think_time->text));
      line += fmt::format("next: {{ {} }} }}", fmt::join(next, ", "));
      const auto e = std::find_if(c.endpoints.begin(), c.endpoints.end(), [&](const EndpointCount& ec) { return ec.endpoint.name == step.name; });
      if (e != c.endpoints.end()) {
        const auto& fit = c.sessions.think_times[static_cast<std::size_t>(e - c.endpoints.begin())];
        if (fit.gaps > 0) line += fmt::format("   # {} pauses; {} chosen by AIC; KS distance {:.3f}", fit.gaps, fit.kind, fit.ks_distance);
      }
      out += line + "\n";
    }
  } else {
    out += "mix:\n  series: requests\n  endpoints:\n";
    std::vector<std::uint64_t> counts;
    for (const auto& e : c.endpoints) counts.push_back(e.requests);
    for (const auto& [index, value] : millionths(counts, true)) {
      const auto& e = c.endpoints[index];
      out += fmt::format("    {}: {}   # {} requests, share ±{:.2g}\n", e.endpoint.name, probability(value), thousands(static_cast<double>(e.requests)),
                         e.share_standard_error);
    }
  }
  const auto& burst = c.arrival_burstiness();
  if (burst.over_dispersed && burst.rate_cv > 0) {
    const auto& d = burst.dispersion.back();
    out += fmt::format("\n# {} arrive in bursts: their counts in 60 s vary {:.2f} times as much as a Poisson process's at the same hourly rates\n"
                       "# ([{:.2f}, {:.2f}], {} hours); a gamma rate multiplier per interval reproduces that.\n",
                       c.model == ModelKind::journeys ? "Sessions" : "Requests", d.index, d.low, d.high, burst.hours);
    out += fmt::format("burstiness:\n  interval: {:.0f}s\n  rate_cv: {:.4g}\n", burst.interval_seconds, burst.rate_cv);
  }
  out += "\nflows:\n";
  for (const auto& e : c.endpoints) {
    const auto& endpoint = e.endpoint;
    out += fmt::format("  {}:\n    method: {}\n", endpoint.name, endpoint.method);
    if (endpoint.path_template.find('{') != std::string::npos) {
      out += fmt::format("    path: {}   # TODO: {} in the log; one value seen is here: use a capture\n", yaml_quoted(endpoint.example_target), endpoint.path_template);
    } else {
      out += fmt::format("    path: {}\n", yaml_quoted(endpoint.example_target));
    }
    if (endpoint.method == "POST" || endpoint.method == "PUT" || endpoint.method == "PATCH") {
      out += "    headers: { Content-Type: application/json }\n    body: '{}'   # TODO: the request body (access logs do not hold it)\n";
    }
  }
  out += fmt::format("\nreplay:\n  window: peak_hour\n  year: {}\n  duration: 60s\n  scale: {:g}   # about 20 requests a second in the replay\n", c.year,
                     volume.replay_scale);
  out += "\n# slo: TODO, such as [p99<300ms, error_rate<0.1%]\n";
  return out;
}

std::string render_calibration_json(const Calibration& c) {
  using nlohmann::json;
  json out;
  out["schema"] = "uptake.calibration/v1";
  out["files"] = c.files;
  out["lines"] = c.lines;
  out["requests"] = c.requests;
  out["excluded"] = {{"static", c.excluded_static}, {"bots", c.excluded_bots}, {"late", c.late}};
  json malformed = json::array();
  for (const auto& m : c.malformed) {
    json places = json::array();
    for (const auto& p : m.first) places.push_back({{"file", p.file}, {"line", p.line}});
    malformed.push_back({{"reason", std::string(describe(m.reason))}, {"lines", m.lines}, {"first", places}});
  }
  out["malformed"] = malformed;
  out["span"] = {{"from", format_rfc3339(std::chrono::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{c.first_utc_ms}})},
                 {"to", format_rfc3339(std::chrono::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{c.last_utc_ms}})},
                 {"whole_days", c.calendar.whole_days},
                 {"seen_fraction", c.coverage.seen_fraction},
                 {"minutes_of_hour_seen", c.coverage.minutes_of_hour_seen}};
  json endpoints = json::array();
  for (const auto& e : c.endpoints) {
    endpoints.push_back({{"name", e.endpoint.name}, {"method", e.endpoint.method}, {"path", e.endpoint.path_template}, {"example", e.endpoint.example_target},
                         {"requests", e.requests}, {"share", e.share}, {"share_standard_error", e.share_standard_error}});
  }
  out["endpoints"] = endpoints;
  const auto factors = [](const auto& list) {
    json array = json::array();
    for (const auto& f : list) array.push_back({{"value", f.value}, {"requests", f.requests}, {"days", f.days}, {"measured", f.measured}});
    return array;
  };
  json holidays = json::array();
  for (const auto& h : c.calendar.holidays) holidays.push_back({{"date", format_date(h.date)}, {"ratio", h.ratio}});
  out["calendar"] = {{"timezone", c.calendar.time_zone}, {"hour_profile", factors(c.calendar.hour_profile)}, {"weekday_factors", factors(c.calendar.weekday)},
                     {"month_factors", factors(c.calendar.month)}, {"holidays", holidays}, {"holiday_factor", c.calendar.holiday_factor}};
  json dispersion = json::array();
  for (const auto& d : c.burstiness.dispersion) {
    dispersion.push_back({{"window_s", d.window_seconds}, {"index", d.index}, {"low", d.low}, {"high", d.high}, {"windows", d.windows}, {"predicted", d.predicted}});
  }
  out["burstiness"] = {{"dispersion", dispersion}, {"interval_s", c.burstiness.interval_seconds}, {"rate_cv", c.burstiness.rate_cv},
                       {"over_dispersed", c.burstiness.over_dispersed}, {"hours", c.burstiness.hours}};
  json think = json::array();
  for (std::size_t e = 0; e < c.sessions.think_times.size(); ++e) {
    const auto& f = c.sessions.think_times[e];
    think.push_back({{"endpoint", c.endpoints[e].endpoint.name}, {"gaps", f.gaps}, {"kind", f.kind}, {"mean_s", f.mean_seconds}, {"sd_s", f.sd_seconds},
                     {"ks_distance", f.ks_distance}, {"aic_lognormal", f.aic_lognormal}, {"aic_exponential", f.aic_exponential}});
  }
  out["sessions"] = {{"key", c.options.session_key.text},
                     {"timeout_s", c.options.session_timeout.count()},
                     {"sessions", c.sessions.sessions},
                     {"requests_per_session", c.sessions.mean_requests_per_session()},
                     {"chain_requests_per_session", c.sessions.chain_requests_per_session},
                     {"open_at_end", c.sessions.open_at_end},
                     {"most_open", c.sessions.most_open},
                     {"length_counts", c.sessions.length_counts},
                     {"transitions", c.sessions.transitions},
                     {"think_times", think}};
  out["model"] = std::string(to_string(c.model));
  out["peak_second"] = {{"requests", c.peak_second_requests}, {"at", format_rfc3339(std::chrono::sys_seconds{std::chrono::seconds{c.peak_second_utc}})}};
  out["year"] = c.year;
  out["yearly_requests"] = c.yearly_requests;
  out["warnings"] = c.warnings;
  return out.dump(2) + "\n";
}

std::string render_calibration_text(const Calibration& c) {
  std::string out;
  out += fmt::format("Read {} lines of {} file{}: {} requests kept; excluded {}.\n", thousands(static_cast<double>(c.lines)), c.files.size(),
                     c.files.size() == 1 ? "" : "s", thousands(static_cast<double>(c.requests)), excluded_text(c));
  for (const auto& m : c.malformed) {
    std::vector<std::string> places;
    for (const auto& p : m.first) places.push_back(fmt::format("{}:{}", p.file, p.line));
    out += fmt::format("  malformed: {} lines, {} (first at {})\n", m.lines, describe(m.reason), fmt::join(places, ", "));
  }
  out += fmt::format("Span {} to {} ({}), {} whole local days; the log saw {:.0f}% of the time.\n", local_time(c, c.first_utc_ms), local_time(c, c.last_utc_ms),
                     c.calendar.time_zone, c.calendar.whole_days, 100 * c.coverage.seen_fraction);
  out += "\nEndpoints                                   requests      share\n";
  for (const auto& e : c.endpoints) {
    out += fmt::format("  {:<40} {:>10} {:>8.2f}% ±{:.2f}  {} {}\n", e.endpoint.name, thousands(static_cast<double>(e.requests)), 100 * e.share,
                       100 * 1.96 * e.share_standard_error, e.endpoint.method, e.endpoint.path_template);
  }
  if (c.model == ModelKind::journeys || c.sessions.sessions > 0) {
    out += fmt::format("\nSessions ({}, timeout {}): {} sessions, {:.2f} requests each observed, {:.2f} by the fitted chain\n", c.options.session_key.text,
                       format_duration(c.options.session_timeout), thousands(static_cast<double>(c.sessions.sessions)), c.sessions.mean_requests_per_session(),
                       c.sessions.chain_requests_per_session);
    for (std::size_t e = 0; e < c.sessions.think_times.size(); ++e) {
      const auto& f = c.sessions.think_times[e];
      if (f.gaps < 30) continue;  // too few pauses to say anything of
      out += fmt::format("  pause before {:<28} {:<28} n={:<8} KS distance {:.3f} (AIC lognormal {:.0f}, exponential {:.0f})\n", c.endpoints[e].endpoint.name,
                         f.distribution, f.gaps, f.ks_distance, f.aic_lognormal, f.aic_exponential);
    }
  }
  if (!c.burstiness.dispersion.empty()) {
    out += fmt::format("\nBurstiness over {} hours (index of dispersion; 1 = Poisson with the same hourly rates):\n", c.burstiness.hours);
    for (const auto& d : c.burstiness.dispersion) {
      out += fmt::format("  {:>3.0f} s windows: {:.3f} [{:.3f}, {:.3f}]  model {:.3f}  ({} windows)\n", d.window_seconds, d.index, d.low, d.high, d.predicted,
                         thousands(static_cast<double>(d.windows)));
    }
    out += c.burstiness.over_dispersed
               ? fmt::format("  over-dispersed: a gamma rate multiplier per {:.0f} s with coefficient of variation {:.3f}\n", c.burstiness.interval_seconds,
                             c.burstiness.rate_cv)
               : "  not shown to be over-dispersed: Poisson arrivals fit\n";
  }
  if (c.model == ModelKind::journeys && c.session_burstiness.dispersion.size() == 3) {
    const auto& d = c.session_burstiness.dispersion[2];
    out += fmt::format("Session arrivals (what the journeys scenario draws): 60 s index {:.3f} [{:.3f}, {:.3f}]; {}\n", d.index, d.low, d.high,
                       c.session_burstiness.over_dispersed ? fmt::format("a gamma rate multiplier with coefficient of variation {:.3f}", c.session_burstiness.rate_cv)
                                                           : std::string("Poisson fits"));
  }
  out += fmt::format("\nPeak second: {} requests at {} UTC. Annualised volume {}: {} requests.\n", c.peak_second_requests,
                     format_date_time(std::chrono::sys_seconds{std::chrono::seconds{c.peak_second_utc}}), c.year, thousands(c.yearly_requests));
  for (const auto& warning : c.warnings) out += fmt::format("warning: {}\n", warning);
  return out;
}

}  // namespace uptake::calibrate
