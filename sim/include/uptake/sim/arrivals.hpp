#pragma once
// Seeded non-homogeneous Poisson arrival schedules, streamed one arrival at a time.
//
// The replay window [from, to) of scenario time is compressed into `duration` of replay time and
// scaled by `scale`: replay rate r(tau) = lambda(from + tau * c) * c * scale, c = window / duration.
// Arrivals are drawn by thinning over pieces on which the calendar rate is constant: within a
// piece without events every candidate is accepted (pure exponential gaps); where events overlap
// a piece, candidates at the piece's upper bound are kept with probability rate / bound.
//
// Burstiness (scenario.burstiness): each interval of scenario time has its rates multiplied by
// a gamma factor of mean 1, drawn from the seed and the interval's number, so shards agree.
//
// Sharding: every shard draws the same random stream and numbers the arrivals 0, 1, 2, ...;
// shard K of N keeps the arrivals whose number is K modulo N. So N shards together are exactly
// the unsharded schedule, none twice, and each shard carries 1/N of every stretch of it.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptake/base/random.hpp"
#include "uptake/sim/rate.hpp"

namespace uptake::sim {

struct Shard {
  std::uint32_t index = 0;  // K, from 0 (as Kubernetes' completion index)
  std::uint32_t count = 1;  // N
};

// "K/N" with 0 <= K < N; std::nullopt otherwise.
std::optional<Shard> parse_shard(std::string_view text);

// The most requests per second a schedule may ask for: one arrival per nanosecond, the
// resolution of intended send times. Far beyond any generator; what it guards against is a rate
// that is infinite or so large that drawing the schedule never advances in time.
inline constexpr double kMostReplayRate = 1e9;

struct ReplayWindow {
  Instant from = 0;         // scenario time, real instant
  Instant to = 0;
  Seconds duration{0};      // replay time the window is compressed into
  double scale = 1.0;       // share of the modelled traffic to send
  InputLocation where;      // what asked for it (Replay::where), for a refusal

  double compression() const { return (to - from) / duration.count(); }
};

// The scenario's replay window; peak_hour is resolved with the model's design peak. Throws
// InputError at the scenario's Replay::where when its rate would exceed kMostReplayRate (or is
// not finite), as an ArrivalSchedule of it would.
// Also refuses a window with no demand to replay (refuse_replay_without_demand): `check`, `run`
// and `schedule` all take their window from here.
ReplayWindow replay_window(const Scenario& scenario, const RateModel& model);

// A window whose whole (unsharded) schedule expects fewer than half a request models no demand
// to replay: `check` would say "about 0 requests", and a run of it would spend its whole
// duration sending nothing and end untrusted. InputError at window.where naming the replay
// field and the window, before any load.
void refuse_replay_without_demand(const Scenario& scenario, const ReplayWindow& window, double expected_arrivals);

// A gamma-distributed draw of mean `shape` (scale 1), shape > 0: the factors of bursty arrivals.
double gamma_draw(Random& random, double shape);

struct Arrival {
  std::chrono::nanoseconds intended_offset{0};  // intended send time, from the schedule's start
  std::uint32_t endpoint = 0;                   // index into the rate model's endpoints
  std::uint64_t sequence = 0;                   // number in the unsharded schedule
};

class ArrivalSchedule {
 public:
  // A schedule for `window` of `model`. The model must outlive the schedule. Throws InputError
  // at window.where when the rate anywhere in the window exceeds kMostReplayRate or the
  // expected number of arrivals is not finite.
  ArrivalSchedule(const RateModel& model, const ReplayWindow& window, std::uint64_t seed, Shard shard = {});

  // A constant rate (requests per second) over `duration`, for one endpoint: ad hoc runs.
  static ArrivalSchedule constant(double rate, Seconds duration, std::uint64_t seed, Shard shard = {});

  // The next arrival of this shard, in time order; false once the window is over.
  bool next(Arrival& arrival);

  // Expected number of arrivals of the whole (unsharded) schedule: the integral of the rate.
  double expected_arrivals() const { return expected_arrivals_; }
  Seconds duration() const { return Seconds{duration_}; }

 private:
  struct Segment {
    double start = 0;        // replay seconds
    double end = 0;
    double bound = 0;        // upper bound of the total rate over the segment
    bool eventful = false;   // whether candidates must be thinned
    std::size_t first = 0;   // offset of this segment's per-endpoint values in rates_
  };

  ArrivalSchedule(std::uint64_t seed, Shard shard, std::size_t endpoints);
  // Cuts the segments at the scenario's burstiness intervals and multiplies each piece's rates
  // by its interval's gamma factor (the arrival stream itself is untouched: same seed, same
  // draws, so a scenario without burstiness keeps its schedule).
  void apply_burstiness(const Burstiness& burstiness, std::uint64_t seed);
  std::uint32_t pick_endpoint(const double* weights, double total, double draw) const;

  const RateModel* model_ = nullptr;   // null for constant schedules (which have no events)
  ReplayWindow window_;
  double compression_ = 1.0;           // window_.compression(), kept: it is used per candidate
  std::vector<Segment> segments_;
  std::vector<double> rates_;          // per segment, per endpoint: rate before events
  std::vector<double> scratch_;        // per-endpoint rates at a candidate (eventful segments)
  std::size_t endpoints_ = 1;
  double duration_ = 0;
  double expected_arrivals_ = 0;

  Random random_;
  Shard shard_;
  std::size_t segment_ = 0;
  double now_ = 0;
  std::uint64_t next_sequence_ = 0;
};

}  // namespace uptake::sim
