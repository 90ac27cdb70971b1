#pragma once
// Open-loop pacing, as a pure decision: given the schedule's arrivals and the sessions' next
// steps, what is due at a time, and when to wake up next. It reads no clock and sends nothing:
// the engine's worker asks it with the time it read, and the tests ask it with a simulated one.
//
// The rules it keeps:
// - nothing is taken before its intended time (take_due refuses what is not yet due);
// - what is due is taken in intended order, arrivals and session steps merged;
// - with Pacing::sleep, the arrivals that come within the batch window of the next one due share
//   one wake-up, at the last of them: the first then leaves up to the window late, and the worker
//   records that as its schedule lag, as any lateness is;
// - with Pacing::spin, the wake-up comes kSpinWindow early and the rest is polled.
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <queue>
#include <vector>

#include "uptake/loadgen/run_result.hpp"
#include "uptake/sim/arrivals.hpp"

namespace uptake::loadgen {

using PacingClock = std::chrono::steady_clock;

// With Pacing::spin, how long before a send the thread stops sleeping and polls.
inline constexpr auto kSpinWindow = std::chrono::microseconds(200);

// A session's next request, waiting for its intended time (its previous response plus a pause).
// `session` is the engine's, opaque here.
struct PacedStep {
  PacingClock::time_point at;
  void* session = nullptr;
  std::uint32_t endpoint = 0;
  bool operator>(const PacedStep& other) const { return at > other.at; }
};

// What is due: an arrival of the schedule (a request, or with journeys a session's start), or a
// session's step.
struct DueSend {
  PacingClock::time_point intended;
  std::optional<sim::Arrival> arrival;  // set for an arrival
  PacedStep step;                       // else the step
};

// When the worker should look again: a timer at `at`, or (spin pacing, close to the next send)
// a poll at once. Nothing: the schedule and the steps are done.
struct WakeUp {
  PacingClock::time_point at;
  bool poll = false;
};

class Pacer {
 public:
  // `schedule` must outlive the pacer; arrival times count from `start`. `batch_window`: see
  // kDefaultBatchWindow (sleep pacing only).
  Pacer(sim::ArrivalSchedule& schedule, PacingClock::time_point start, Pacing pacing, std::chrono::microseconds batch_window = kDefaultBatchWindow);

  // The earliest intended time of what is left; nothing when the schedule is drained and no
  // step waits.
  std::optional<PacingClock::time_point> next_due() const;
  // The earliest send if it is due at `now`, taken; else nothing.
  std::optional<DueSend> take_due(PacingClock::time_point now);
  // When to wake up next, seen at `now`; nothing when all is done.
  std::optional<WakeUp> wake_up(PacingClock::time_point now);

  void add_step(const PacedStep& step) { steps_.push(step); }
  bool has_steps() const { return !steps_.empty(); }
  // The earliest step, taken (after a stop, to end the sessions waiting).
  PacedStep pop_step();
  // Whether the schedule has arrivals left.
  bool has_arrivals() const { return has_next_; }
  // The next arrival, taken whether it is due or not (to count the rest after a stop).
  std::optional<std::pair<PacingClock::time_point, sim::Arrival>> take_arrival();

 private:
  PacingClock::time_point arrival_time(const sim::Arrival& arrival) const {
    return start_ + std::chrono::duration_cast<PacingClock::duration>(arrival.intended_offset);
  }
  bool draw_next();
  PacingClock::time_point batched(PacingClock::time_point due);

  sim::ArrivalSchedule& schedule_;
  PacingClock::time_point start_;
  Pacing pacing_;
  std::chrono::microseconds batch_window_;
  sim::Arrival next_;
  bool has_next_ = false;
  std::deque<sim::Arrival> ahead_;      // the arrivals after next_, drawn ahead for batching
  bool drained_ = false;                // the schedule has no more arrivals
  std::priority_queue<PacedStep, std::vector<PacedStep>, std::greater<>> steps_;
};

}  // namespace uptake::loadgen
