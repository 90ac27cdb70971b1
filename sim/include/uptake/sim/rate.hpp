#pragma once
// The rate function lambda(t) per endpoint, in requests per second: yearly volume -> local day
// (month, weekday, holidays) -> hour-of-day bin -> events, times the requests each unit of
// volume makes at each endpoint.
#include <map>
#include <string>
#include <vector>

#include "uptake/sim/calendar.hpp"
#include "uptake/sim/scenario.hpp"

namespace uptake::sim {

// A stretch of time over which every endpoint's calendar rate is constant; events (if any
// overlap it) multiply that rate by factors that vary linearly between knots.
struct RatePiece {
  Instant start = 0;
  Instant end = 0;
  std::vector<double> calendar_rate;  // per endpoint, requests per second before events
};

struct DesignPeak {
  int year = 0;
  Instant peak_hour_start = 0;           // real instant the busiest clock hour begins
  std::vector<double> peak_hour_rate;    // per endpoint: mean requests per second in that hour
  std::vector<double> peak_second_rate;  // per endpoint: 99.9th percentile of requests in a second (with the scenario's burstiness, if any)
  double total_peak_hour_rate = 0;
  double total_peak_second_rate = 0;
};

class RateModel {
 public:
  // yearly_volume: volume of the driving series per year (history and projection); years
  // outside it carry no demand. Recurring events occur in each of these years.
  RateModel(const Scenario& scenario, std::map<int, double> yearly_volume);

  const std::vector<std::string>& endpoints() const { return endpoints_; }
  const std::vector<double>& requests_per_use() const { return requests_per_use_; }
  const CalendarShape& calendar() const { return calendar_; }
  // The scenario's over-dispersion of arrivals; empty: Poisson.
  const std::optional<Burstiness>& burstiness() const { return burstiness_; }

  // lambda of one endpoint at instant t, requests per second.
  double rate(std::size_t endpoint, Instant t) const;
  double total_rate(Instant t) const;
  // The event factor for one endpoint at t (product over the events that apply to it).
  double event_multiplier(std::size_t endpoint, Instant t) const;
  // Its upper bound over [from, to].
  double event_multiplier_bound(std::size_t endpoint, Instant from, Instant to) const;
  bool has_events_in(Instant from, Instant to) const;

  // [from, to) cut at every hour-profile bin edge and event knot, in time order.
  std::vector<RatePiece> pieces(Instant from, Instant to) const;

  // Expected requests of one endpoint in [from, to): the integral of lambda (exact between
  // knots: events are integrated by three-point Gauss-Legendre on each linear stretch, exact
  // for up to five overlapping events).
  double expected_requests(std::size_t endpoint, Instant from, Instant to) const;

  // Busiest local clock hour of `year` and its design rates.
  DesignPeak design_peak(int year) const;

 private:
  double calendar_rate(std::size_t endpoint, Instant t) const;
  // The integral over [from, to) of the calendar rate times the factor of `events`.
  double integral(std::size_t endpoint, Instant from, Instant to, const EventTimeline& events) const;
  // Scales each year's requests so that the events that move demand leave its total as it was.
  void keep_yearly_totals(const std::vector<EventTimeline>& moving);

  std::vector<std::string> endpoints_;
  std::vector<double> requests_per_use_;
  EventTimeline events_;                         // every occurrence of every event: where pieces are cut
  std::vector<EventTimeline> events_of_endpoint_;  // per endpoint: the occurrences that apply to it
  std::map<int, double> yearly_volume_;
  // Per local year, per endpoint: the requests its calendar spreads, before events. Volume times
  // requests per use, scaled down by what the year's non-additive events add (or up, for a quiet
  // spell), so that the year's total with them is volume times requests per use.
  std::map<int, std::vector<double>> year_requests_;
  CalendarShape calendar_;
  std::optional<Burstiness> burstiness_;
};

// Smallest k with P(X > k) <= tail for X ~ Poisson(mean): the per-second rate that a Poisson
// arrival process of that mean exceeds in only `tail` of seconds.
double poisson_upper_quantile(double mean, double tail);

// The same for a count in one second whose rate is multiplied by a gamma factor of mean 1 and
// coefficient of variation `rate_cv` held over `interval` (a negative binomial count: variance
// mean + (rate_cv mean)^2 when the interval lasts a second or more; an interval shorter than a
// second averages several factors, which divides the factor's variance by their number).
// rate_cv 0 is poisson_upper_quantile.
double bursty_upper_quantile(double mean, double rate_cv, Seconds interval, double tail);

}  // namespace uptake::sim
