#include "uptake/sim/rate.hpp"

#include <algorithm>
#include <cmath>

#include "uptake/sim/journey.hpp"

namespace uptake::sim {

using namespace std::chrono;

RateModel::RateModel(const Scenario& scenario, std::map<int, double> yearly_volume)
    : endpoints_(scenario.endpoint_names()),
      yearly_volume_(std::move(yearly_volume)),
      calendar_(scenario.calendar),
      burstiness_(scenario.burstiness) {
  requests_per_use_.assign(endpoints_.size(), 0.0);
  auto index_of = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(endpoints_.begin(), endpoints_.end(), name) - endpoints_.begin());
  };
  if (scenario.mix.journeys) {
    for (const auto& visits : expected_endpoint_requests(*scenario.mix.journeys)) {
      requests_per_use_[index_of(visits.endpoint)] = visits.requests_per_journey;
    }
  } else {
    for (const auto& [endpoint, share] : scenario.mix.shares) requests_per_use_[index_of(endpoint)] = share * scenario.mix.requests_per_use;
  }
  // Occurrences over the years with demand; from the year before, so that one starting late in
  // December still reaches into the first year.
  const int first_year = yearly_volume_.empty() ? 0 : yearly_volume_.begin()->first - 1;
  const int last_year = yearly_volume_.empty() ? -1 : yearly_volume_.rbegin()->first;
  std::vector<EventShape> all;
  std::vector<std::vector<EventShape>> of_endpoint(endpoints_.size());
  std::vector<std::vector<EventShape>> moving_of_endpoint(endpoints_.size());
  for (const auto& event : scenario.events) {
    for (const auto start : event.occurrences(first_year, last_year)) {
      const EventShape occurrence(calendar_.to_real(start), event);
      all.push_back(occurrence);
      for (std::size_t e = 0; e < endpoints_.size(); ++e) {
        const auto& only = event.endpoints;
        if (!only.empty() && std::find(only.begin(), only.end(), endpoints_[e]) == only.end()) continue;
        of_endpoint[e].push_back(occurrence);
        if (!event.additive) moving_of_endpoint[e].push_back(occurrence);
      }
    }
  }
  events_ = EventTimeline(std::move(all));
  for (auto& occurrences : of_endpoint) events_of_endpoint_.emplace_back(std::move(occurrences));

  for (const auto& [year, volume] : yearly_volume_) {
    auto& requests = year_requests_[year];
    for (const double per_use : requests_per_use_) requests.push_back(volume * per_use);
  }
  std::vector<EventTimeline> moving;
  for (auto& occurrences : moving_of_endpoint) moving.emplace_back(std::move(occurrences));
  keep_yearly_totals(moving);
}

void RateModel::keep_yearly_totals(const std::vector<EventTimeline>& moving) {
  const EventTimeline no_events;
  for (auto& [year, requests] : year_requests_) {
    const Instant year_start = calendar_.day_start(sys_days{std::chrono::year{year} / January / 1});
    const Instant year_end = calendar_.day_start(sys_days{std::chrono::year{year + 1} / January / 1});
    for (std::size_t e = 0; e < endpoints_.size(); ++e) {
      if (requests[e] <= 0) continue;
      // Outside the events the factor is 1: only the stretches they cover change the total.
      // Each year is scaled on its own, and pieces never cross a local midnight, so the
      // integrals here see this year's unscaled requests.
      double added = 0;
      for (const auto& [start, end] : moving[e].covered()) {
        const Instant from = std::max(start, year_start);
        const Instant to = std::min(end, year_end);
        if (from < to) added += integral(e, from, to, moving[e]) - integral(e, from, to, no_events);
      }
      requests[e] *= requests[e] / (requests[e] + added);
    }
  }
}

double RateModel::calendar_rate(std::size_t endpoint, Instant t) const {
  const auto day = calendar_.local_day(t);
  const auto found = year_requests_.find(static_cast<int>(year_month_day{day}.year()));
  if (found == year_requests_.end()) return 0.0;
  return found->second[endpoint] * calendar_.share_per_second(day, t);
}

double RateModel::event_multiplier(std::size_t endpoint, Instant t) const { return events_of_endpoint_[endpoint].factor(t); }

double RateModel::event_multiplier_bound(std::size_t endpoint, Instant from, Instant to) const {
  return events_of_endpoint_[endpoint].bound(from, to);
}

bool RateModel::has_events_in(Instant from, Instant to) const { return events_.overlaps(from, to); }

double RateModel::rate(std::size_t endpoint, Instant t) const { return calendar_rate(endpoint, t) * event_multiplier(endpoint, t); }

double RateModel::total_rate(Instant t) const {
  double total = 0;
  for (std::size_t e = 0; e < endpoints_.size(); ++e) total += rate(e, t);
  return total;
}

std::vector<RatePiece> RateModel::pieces(Instant from, Instant to) const {
  std::vector<Instant> cuts;
  events_.knots_inside(from, to, cuts);
  std::sort(cuts.begin(), cuts.end());
  std::vector<RatePiece> result;
  auto next_cut = cuts.begin();
  Instant start = from;
  while (start < to) {
    Instant end = std::min(calendar_.bin_end(start), to);
    while (next_cut != cuts.end() && *next_cut <= start) ++next_cut;
    if (next_cut != cuts.end() && *next_cut < end) end = *next_cut;
    RatePiece piece{start, end, {}};
    const Instant middle = 0.5 * (start + end);
    for (std::size_t e = 0; e < endpoints_.size(); ++e) piece.calendar_rate.push_back(calendar_rate(e, middle));
    result.push_back(std::move(piece));
    start = end;
  }
  return result;
}

double RateModel::expected_requests(std::size_t endpoint, Instant from, Instant to) const {
  return integral(endpoint, from, to, events_of_endpoint_[endpoint]);
}

double RateModel::integral(std::size_t endpoint, Instant from, Instant to, const EventTimeline& events) const {
  double total = 0;
  for (const auto& piece : pieces(from, to)) {
    const double length = piece.end - piece.start;
    const double base = piece.calendar_rate[endpoint] * length;
    if (!events.overlaps(piece.start, piece.end)) {
      total += base;
      continue;
    }
    // Between knots each event factor is linear, so their product is a polynomial of low
    // degree: three-point Gauss-Legendre is exact for up to five overlapping events. Its nodes
    // lie inside the piece, away from the knots where a factor without ramp or decay jumps.
    const double middle = 0.5 * (piece.start + piece.end);
    const double offset = 0.5 * length * 0.7745966692414834;  // sqrt(3/5) of the half-length
    const double mean_factor = (8 * events.factor(middle) + 5 * events.factor(middle - offset) + 5 * events.factor(middle + offset)) / 18.0;
    total += base * mean_factor;
  }
  return total;
}

DesignPeak RateModel::design_peak(int year) const {
  DesignPeak peak;
  peak.year = year;
  peak.peak_hour_rate.assign(endpoints_.size(), 0.0);
  peak.peak_second_rate.assign(endpoints_.size(), 0.0);
  const sys_days first{std::chrono::year{year} / January / 1};
  const sys_days last{std::chrono::year{year} / December / 31};
  for (sys_days day = first; day <= last; day += days{1}) {
    // Every real hour from local midnight: 23 on the day the clock goes forward, 25 on the
    // day it goes back, each a clock hour (zones change their clocks by whole hours).
    const Instant day_end = calendar_.day_start(day + days{1});
    for (Instant hour_start = calendar_.day_start(day); hour_start < day_end; hour_start += 3600.0) {
      double total = 0;
      for (std::size_t e = 0; e < endpoints_.size(); ++e) total += expected_requests(e, hour_start, hour_start + 3600.0);
      if (total / 3600.0 > peak.total_peak_hour_rate) {
        peak.total_peak_hour_rate = total / 3600.0;
        peak.peak_hour_start = hour_start;
      }
    }
  }
  const double rate_cv = burstiness_ ? burstiness_->rate_cv : 0.0;
  const Seconds interval = burstiness_ ? burstiness_->interval : Seconds{1};
  peak.total_peak_second_rate = bursty_upper_quantile(peak.total_peak_hour_rate, rate_cv, interval, 0.001);
  for (std::size_t e = 0; e < endpoints_.size(); ++e) {
    peak.peak_hour_rate[e] = expected_requests(e, peak.peak_hour_start, peak.peak_hour_start + 3600.0) / 3600.0;
    peak.peak_second_rate[e] = bursty_upper_quantile(peak.peak_hour_rate[e], rate_cv, interval, 0.001);
  }
  return peak;
}

double poisson_upper_quantile(double mean, double tail) {
  if (mean <= 0) return 0;
  // Walk down from far in the upper tail, adding probabilities, until the tail mass would
  // exceed `tail`: O(sqrt(mean)) steps, in log space so that large means do not underflow.
  auto k = static_cast<long long>(std::ceil(mean + 12.0 * std::sqrt(mean) + 20.0));
  double probability = std::exp(static_cast<double>(k) * std::log(mean) - mean - std::lgamma(static_cast<double>(k) + 1.0));
  double upper_tail = 0;  // P(X > k)
  while (k > 0) {
    if (upper_tail + probability > tail) break;  // P(X > k-1) would exceed the tail
    upper_tail += probability;
    probability *= static_cast<double>(k) / mean;
    --k;
  }
  return static_cast<double>(k);
}

double bursty_upper_quantile(double mean, double rate_cv, Seconds interval, double tail) {
  const double variance = rate_cv * rate_cv * std::min(1.0, interval.count());
  if (mean <= 0 || variance <= 0) return poisson_upper_quantile(mean, tail);
  // Negative binomial with r = 1 / variance and success probability p = r / (r + mean):
  // P(0) = p^r, P(k) = P(k - 1) (k - 1 + r) / k (1 - p). Summed upwards in log space until the
  // tail left is at most `tail`; far beyond the mean the count is bounded by a normal guess.
  const double r = 1 / variance;
  const double log_p = std::log(r / (r + mean));
  const double log_q = std::log(mean / (r + mean));
  double log_probability = r * log_p;
  double cumulative = std::exp(log_probability);
  const double standard_deviation = std::sqrt(mean + variance * mean * mean);
  const auto limit = static_cast<long long>(std::ceil(mean + 60 * standard_deviation + 50));
  long long k = 0;
  while (1 - cumulative > tail && k < limit && k < 100'000'000) {
    ++k;
    log_probability += std::log((static_cast<double>(k) - 1 + r) / static_cast<double>(k)) + log_q;
    cumulative += std::exp(log_probability);
  }
  return static_cast<double>(k);
}

}  // namespace uptake::sim
