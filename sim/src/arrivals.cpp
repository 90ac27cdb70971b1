#include "uptake/sim/arrivals.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "uptake/base/civil_time.hpp"

namespace uptake::sim {

std::optional<Shard> parse_shard(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  Shard shard;
  const auto parse = [](std::string_view part, std::uint32_t& value) {
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    return ec == std::errc{} && end == part.data() + part.size() && !part.empty();
  };
  if (!parse(text.substr(0, slash), shard.index) || !parse(text.substr(slash + 1), shard.count)) return std::nullopt;
  if (shard.count == 0 || shard.index >= shard.count) return std::nullopt;
  return shard;
}

ReplayWindow replay_window(const Scenario& scenario, const RateModel& model) {
  ReplayWindow window;
  const auto& replay = scenario.replay;
  if (replay.window == ReplayWindowKind::peak_hour) {
    window.from = model.design_peak(replay.year).peak_hour_start;
    window.to = window.from + 3600.0;
  } else {
    window.from = static_cast<double>(replay.from.time_since_epoch().count());
    window.to = static_cast<double>(replay.to.time_since_epoch().count());
  }
  window.duration = replay.duration.value_or(Seconds{window.to - window.from});
  window.scale = replay.scale;
  window.where = replay.where;
  // Drawn once to be refused here, before anything starts, rather than in an engine thread.
  const ArrivalSchedule schedule(model, window, 0);
  refuse_replay_without_demand(scenario, window, schedule.expected_arrivals());
  return window;
}

void refuse_replay_without_demand(const Scenario& scenario, const ReplayWindow& window, double expected_arrivals) {
  if (expected_arrivals >= 0.5) return;
  const auto local = [&](Instant instant) {
    return format_date_time(std::chrono::sys_seconds{std::chrono::seconds{std::llround(scenario.calendar.time_zone.to_local(instant))}});
  };
  const auto& replay = scenario.replay;
  const auto field = replay.window == ReplayWindowKind::peak_hour ? "replay.year" : replay.window == ReplayWindowKind::day ? "replay.day" : "replay.from";
  throw InputError(window.where, field,
                   fmt::format("the window {} to {} local at scale {:g}{} models about {:.2g} requests in all: a run of it would send none",
                               local(window.from), local(window.to), window.scale,
                               replay.overridden_by.empty() ? "" : fmt::format(" (overridden by {})", replay.overridden_by), expected_arrivals),
                   "a replay window with demand (another day, interval or year of the forecast), or a larger scale");
}

ArrivalSchedule::ArrivalSchedule(std::uint64_t seed, Shard shard, std::size_t endpoints)
    : scratch_(endpoints), endpoints_(endpoints), random_(seed), shard_(shard) {}

ArrivalSchedule::ArrivalSchedule(const RateModel& model, const ReplayWindow& window, std::uint64_t seed, Shard shard)
    : ArrivalSchedule(seed, shard, model.endpoints().size()) {
  model_ = &model;
  window_ = window;
  compression_ = window.compression();
  duration_ = window.duration.count();
  const double c = compression_;
  for (const auto& piece : model.pieces(window.from, window.to)) {
    Segment segment;
    segment.start = (piece.start - window.from) / c;
    segment.end = (piece.end - window.from) / c;
    segment.first = rates_.size();
    segment.eventful = model.has_events_in(piece.start, piece.end);
    for (std::size_t e = 0; e < endpoints_; ++e) {
      const double rate = piece.calendar_rate[e] * c * window.scale;
      rates_.push_back(rate);
      segment.bound += segment.eventful ? rate * model.event_multiplier_bound(e, piece.start, piece.end) : rate;
    }
    segments_.push_back(segment);
  }
  for (std::size_t e = 0; e < endpoints_; ++e) expected_arrivals_ += model.expected_requests(e, window.from, window.to) * window.scale;
  if (model.burstiness() && model.burstiness()->rate_cv > 0) apply_burstiness(*model.burstiness(), seed);
  // A rate of infinity (or NaN) would never move the clock: now_ += gap / inf adds nothing.
  double peak = 0;
  for (const auto& segment : segments_) peak = std::isnan(segment.bound) ? segment.bound : std::max(peak, segment.bound);
  if (!(peak <= kMostReplayRate) || !std::isfinite(expected_arrivals_)) {
    throw InputError(window.where, "replay", fmt::format("would send up to {:g} requests per second", peak),
                     fmt::format("demand of at most {:g} requests per second: lower replay.scale, lengthen replay.duration, "
                                 "or check the volumes, calendar weights and event multipliers",
                                 kMostReplayRate));
  }
}

void ArrivalSchedule::apply_burstiness(const Burstiness& burstiness, std::uint64_t seed) {
  // Intervals are aligned to scenario time, so every shard and every replay of the same stretch
  // sees the same factors: each is drawn from a stream of its own, keyed by the seed and the
  // interval's number, apart from the stream that draws arrivals.
  const double interval = burstiness.interval.count();
  const double shape = 1 / (burstiness.rate_cv * burstiness.rate_cv);
  const auto factor_of = [&](std::int64_t number) {
    std::uint64_t key = seed ^ 0x6275727374696e65ULL;  // "burstine"
    key = splitmix64(key) ^ static_cast<std::uint64_t>(number);
    Random random(splitmix64(key));
    return gamma_draw(random, shape) / shape;
  };
  std::vector<Segment> cut;
  std::vector<double> rates;
  for (const auto& segment : segments_) {
    double start = segment.start;
    while (start < segment.end) {
      const double scenario_time = window_.from + start * compression_;
      const auto number = static_cast<std::int64_t>(std::floor(scenario_time / interval));
      const double interval_end = (static_cast<double>(number + 1) * interval - window_.from) / compression_;
      const double end = std::min(segment.end, std::max(interval_end, std::nextafter(start, segment.end)));
      const double factor = factor_of(number);
      Segment piece = segment;
      piece.start = start;
      piece.end = end;
      piece.bound = segment.bound * factor;
      piece.first = rates.size();
      for (std::size_t e = 0; e < endpoints_; ++e) rates.push_back(rates_[segment.first + e] * factor);
      cut.push_back(piece);
      start = end;
    }
  }
  segments_ = std::move(cut);
  rates_ = std::move(rates);
}

double gamma_draw(Random& random, double shape) {
  // Marsaglia and Tsang (2000); below shape 1, a draw at shape + 1 scaled by U^(1/shape).
  if (shape < 1) return gamma_draw(random, shape + 1) * std::pow(random.uniform_open_zero(), 1 / shape);
  const double d = shape - 1.0 / 3;
  const double c = 1 / std::sqrt(9 * d);
  for (;;) {
    double x = 0, v = 0;
    do {
      x = random.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = random.uniform_open_zero();
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

ArrivalSchedule ArrivalSchedule::constant(double rate, Seconds duration, std::uint64_t seed, Shard shard) {
  ArrivalSchedule schedule(seed, shard, 1);
  schedule.duration_ = duration.count();
  schedule.segments_.push_back({0.0, duration.count(), rate, false, 0});
  schedule.rates_.push_back(rate);
  schedule.expected_arrivals_ = rate * duration.count();
  return schedule;
}

std::uint32_t ArrivalSchedule::pick_endpoint(const double* weights, double total, double draw) const {
  double threshold = draw * total;
  for (std::size_t e = 0; e + 1 < endpoints_; ++e) {
    if (threshold < weights[e]) return static_cast<std::uint32_t>(e);
    threshold -= weights[e];
  }
  return static_cast<std::uint32_t>(endpoints_ - 1);
}

bool ArrivalSchedule::next(Arrival& arrival) {
  while (segment_ < segments_.size()) {
    const Segment& segment = segments_[segment_];
    if (segment.bound <= 0) {
      now_ = segment.end;
      ++segment_;
      continue;
    }
    now_ += random_.exponential() / segment.bound;
    if (now_ >= segment.end) {
      // Poisson gaps are memoryless: restarting at the boundary with the next rate is exact.
      now_ = segment.end;
      ++segment_;
      continue;
    }
    const double* rates = &rates_[segment.first];
    std::uint32_t endpoint = 0;
    if (segment.eventful) {
      const Instant scenario_time = window_.from + now_ * compression_;
      double total = 0;
      for (std::size_t e = 0; e < endpoints_; ++e) {
        scratch_[e] = rates[e] * model_->event_multiplier(e, scenario_time);
        total += scratch_[e];
      }
      const double draw = random_.uniform() * segment.bound;
      if (draw >= total) continue;  // thinned away
      // Given acceptance, draw / total is uniform on [0, 1): reuse it to pick the endpoint.
      endpoint = pick_endpoint(scratch_.data(), total, draw / total);
    } else if (endpoints_ > 1) {
      endpoint = pick_endpoint(rates, segment.bound, random_.uniform());
    }
    const std::uint64_t sequence = next_sequence_++;
    if (sequence % shard_.count != shard_.index) continue;
    arrival.intended_offset = std::chrono::nanoseconds{std::llround(now_ * 1e9)};
    arrival.endpoint = endpoint;
    arrival.sequence = sequence;
    return true;
  }
  return false;
}

}  // namespace uptake::sim
