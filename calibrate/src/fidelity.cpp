#include "uptake/calibrate/fidelity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "uptake/sim/arrivals.hpp"
#include "uptake/sim/forecast.hpp"
#include "uptake/sim/journey.hpp"
#include "uptake/sim/scenario_loader.hpp"

namespace uptake::calibrate {

namespace {

double quantile_of_counts(const std::vector<std::uint64_t>& counts, double q) {
  std::uint64_t total = 0;
  for (auto c : counts) total += c;
  if (total == 0) return 0;
  std::uint64_t cumulative = 0;
  for (std::size_t n = 0; n < counts.size(); ++n) {
    cumulative += counts[n];
    if (static_cast<double>(cumulative) >= q * static_cast<double>(total)) return static_cast<double>(n);
  }
  return static_cast<double>(counts.size() - 1);
}

double mean_of_counts(const std::vector<std::uint64_t>& counts) {
  double total = 0, weighted = 0;
  for (std::size_t n = 0; n < counts.size(); ++n) {
    total += static_cast<double>(counts[n]);
    weighted += static_cast<double>(n * counts[n]);
  }
  return total > 0 ? weighted / total : 0;
}

}  // namespace

FidelityReport replay_fidelity(const Calibration& c, const std::string& scenario_text, const std::string& file_name, double most_replayed) {
  FidelityReport report;
  const auto scenario = sim::parse_scenario(scenario_text, file_name);
  const auto forecast = sim::make_forecast(scenario, c.year, c.year);
  const auto& model = *forecast.rate_model;
  report.seen_fraction = c.coverage.seen_fraction;
  sim::ReplayWindow window;
  window.from = std::floor(static_cast<double>(c.first_utc_ms) / 1000);
  window.to = std::floor(static_cast<double>(c.last_utc_ms) / 1000) + 1;
  window.duration = Seconds{window.to - window.from};
  window.scale = c.coverage.seen_fraction;
  const double log_requests = static_cast<double>(c.requests);
  if (log_requests > most_replayed) {
    report.sample = most_replayed / log_requests;
    window.scale *= report.sample;
  }
  const auto& zone = scenario.calendar.time_zone;

  const auto& names = model.endpoints();
  report.endpoints = names;
  report.log_share.assign(names.size(), 0);
  report.model_share.assign(names.size(), 0);
  for (const auto& e : c.endpoints) {
    const auto at = std::find(names.begin(), names.end(), e.endpoint.name);
    if (at != names.end()) report.log_share[static_cast<std::size_t>(at - names.begin())] = e.share;
  }
  for (std::size_t h = 0; h < c.hourly_counts.size(); ++h) {
    const auto hour_of_day = static_cast<std::size_t>(((c.first_local_hour + static_cast<std::int64_t>(h)) % 24 + 24) % 24);
    report.log_by_hour[hour_of_day] += static_cast<double>(c.hourly_counts[h]);
  }
  report.log_requests = c.requests;
  report.log_peak_second = c.peak_second_requests;

  std::vector<std::uint64_t> per_endpoint(names.size(), 0);
  // Counts per second of the span: a flat array for spans of up to 62 days (at most 21 MiB), a
  // map beyond.
  const auto first_second = static_cast<std::int64_t>(window.from);
  const auto span_seconds = static_cast<std::size_t>(window.to - window.from);
  std::vector<std::uint32_t> dense(span_seconds <= 62 * 86400 ? span_seconds + 1 : 0, 0);
  std::unordered_map<std::int64_t, std::uint32_t> per_second;
  const auto count_second = [&](std::int64_t second) -> std::uint32_t {
    const auto index = second - first_second;
    if (!dense.empty() && index >= 0 && static_cast<std::size_t>(index) < dense.size()) return ++dense[static_cast<std::size_t>(index)];
    return ++per_second[second];
  };
  const auto record = [&](double instant, std::uint32_t endpoint) {
    ++per_endpoint[endpoint];
    ++report.model_requests;
    const auto local = zone.to_local(instant);
    report.model_by_hour[static_cast<std::size_t>(std::fmod(std::floor(local / 3600), 24.0) + (local < 0 ? 24 : 0)) % 24] += 1;
    const auto second = static_cast<std::int64_t>(std::floor(instant));
    report.model_peak_second = std::max<std::uint64_t>(report.model_peak_second, count_second(second));
  };
  sim::Arrival arrival;
  if (scenario.mix.journeys) {
    report.sessions = true;
    const sim::SessionChain chain(*scenario.mix.journeys, names);
    sim::ArrivalSchedule schedule(model, sim::session_window(window, chain), scenario.seed);
    std::vector<std::uint64_t> lengths(c.sessions.length_counts.size(), 0);
    while (schedule.next(arrival)) {
      sim::SessionWalk walk(chain, scenario.seed, arrival.sequence);
      sim::SessionVisit visit;
      double at = window.from + std::chrono::duration<double>(arrival.intended_offset).count();
      std::size_t length = 0;
      while (walk.next(visit)) {
        at += std::chrono::duration<double>(visit.think).count();
        if (at < window.to) record(at, visit.endpoint);
        ++length;
      }
      ++lengths[std::min(length, lengths.size() - 1)];
    }
    report.log_mean_session = c.sessions.mean_requests_per_session();
    report.model_mean_session = mean_of_counts(lengths);
    report.log_session_p90 = quantile_of_counts(c.sessions.length_counts, 0.9);
    report.model_session_p90 = quantile_of_counts(lengths, 0.9);
  } else {
    sim::ArrivalSchedule schedule(model, window, scenario.seed);
    while (schedule.next(arrival)) record(window.from + std::chrono::duration<double>(arrival.intended_offset).count(), arrival.endpoint);
  }
  // The index of dispersion of the model's 60 s counts, as calibrate measures the log's: each
  // minute against the mean of its UTC hour.
  std::map<std::int64_t, std::array<double, 60>> hours;
  const auto add_to_hours = [&](std::int64_t second, std::uint32_t count) {
    const auto minute = second >= 0 ? second / 60 : (second - 59) / 60;
    const auto hour = minute >= 0 ? minute / 60 : (minute - 59) / 60;
    hours[hour][static_cast<std::size_t>(minute - hour * 60)] += count;
  };
  for (std::size_t i = 0; i < dense.size(); ++i) {
    if (dense[i] > 0) add_to_hours(first_second + static_cast<std::int64_t>(i), dense[i]);
  }
  for (const auto& [second, count] : per_second) add_to_hours(second, count);
  double squares = 0, expected = 0;
  for (const auto& [hour, minutes] : hours) {
    if (static_cast<double>(hour * 3600) < window.from || static_cast<double>((hour + 1) * 3600) > window.to) continue;
    double total = 0, sum_squares = 0;
    for (double n : minutes) {
      total += n;
      sum_squares += n * n;
    }
    squares += sum_squares - total * total / 60;
    expected += total * (1 - 1.0 / 60);
  }
  if (expected > 0) report.model_dispersion_60 = squares / expected;
  if (c.burstiness.dispersion.size() == 3) report.log_dispersion_60 = c.burstiness.dispersion[2].index;
  for (std::size_t e = 0; e < names.size(); ++e) {
    report.model_share[e] = report.model_requests ? static_cast<double>(per_endpoint[e]) / static_cast<double>(report.model_requests) : 0;
  }
  if (report.sample < 1) {
    report.model_requests = static_cast<std::uint64_t>(std::llround(static_cast<double>(report.model_requests) / report.sample));
    for (auto& hour : report.model_by_hour) hour /= report.sample;
  }
  return report;
}

std::string render_fidelity_text(const FidelityReport& r) {
  std::string out = fmt::format("Fidelity: the scenario's own schedule over the log's span{} beside the log (no network)\n",
                                r.seen_fraction < 1 ? fmt::format(", thinned to the {:.0f}% of time the log saw,", 100 * r.seen_fraction) : std::string());
  out += fmt::format("  requests        log {:>12}   model {:>12}   ({:+.1f}%)\n", r.log_requests, r.model_requests,
                     r.log_requests ? 100.0 * (static_cast<double>(r.model_requests) / static_cast<double>(r.log_requests) - 1) : 0.0);
  if (r.sample < 1) {
    out += fmt::format("  (the model replayed as a {:.2g}% sample and scaled back: its busiest second and dispersion are not compared)\n", 100 * r.sample);
  } else {
    out += fmt::format("  peak second     log {:>12}   model {:>12}\n", r.log_peak_second, r.model_peak_second);
    out += fmt::format("  dispersion 60 s log {:>12.2f}   model {:>12.2f}   (1 = Poisson)\n", r.log_dispersion_60, r.model_dispersion_60);
  }
  if (r.sessions) {
    out += fmt::format("  session length  log mean {:.2f}, p90 {:.0f}   model mean {:.2f}, p90 {:.0f}\n", r.log_mean_session, r.log_session_p90, r.model_mean_session,
                       r.model_session_p90);
  }
  out += "  hour   log        model      |  endpoint                                  log share  model share\n";
  const auto rows = std::max<std::size_t>(24, r.endpoints.size());
  for (std::size_t i = 0; i < rows; ++i) {
    std::string line = i < 24 ? fmt::format("  {:02}   {:>10.0f} {:>10.0f} ", i, r.log_by_hour[i], r.model_by_hour[i]) : std::string(32, ' ');
    if (i < r.endpoints.size()) line += fmt::format("|  {:<40} {:>8.2f}%  {:>8.2f}%", r.endpoints[i], 100 * r.log_share[i], 100 * r.model_share[i]);
    out += line + "\n";
  }
  return out;
}

}  // namespace uptake::calibrate
