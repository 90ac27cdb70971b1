// Open-loop pacing in simulated time: what the pacer takes at each wake-up, against the same
// schedule drawn directly. No clock is read and nothing is sent.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "uptake/loadgen/pacer.hpp"

using namespace uptake;
using namespace uptake::loadgen;
using namespace std::chrono_literals;

namespace {

const PacingClock::time_point kStart{std::chrono::seconds(1000)};

// The intended times of a constant-rate schedule, drawn directly.
std::vector<PacingClock::time_point> intended_times(double rate, double seconds, std::uint64_t seed) {
  auto schedule = sim::ArrivalSchedule::constant(rate, Seconds{seconds}, seed);
  std::vector<PacingClock::time_point> times;
  for (sim::Arrival arrival; schedule.next(arrival);) times.push_back(kStart + std::chrono::duration_cast<PacingClock::duration>(arrival.intended_offset));
  return times;
}

struct Replay {
  std::vector<PacingClock::time_point> intended;  // of each send, in the order taken
  std::vector<PacingClock::duration> lag;         // when it was taken, less its intended time
  std::size_t wake_ups = 0;
  std::size_t polls = 0;
};

// Runs the pacer as the worker does: wake up when it says (a timer that fires `oversleep` late),
// take everything due then. Spin polls advance the clock by `poll_step`.
Replay replay(Pacer& pacer, const std::function<PacingClock::duration()>& oversleep, PacingClock::duration poll_step = 5us) {
  Replay out;
  auto now = kStart;
  while (const auto wake_up = pacer.wake_up(now)) {
    if (wake_up->poll) {
      ++out.polls;
      now += poll_step;
    } else {
      ++out.wake_ups;
      now = std::max(now, wake_up->at + oversleep());
    }
    while (const auto send = pacer.take_due(now)) {
      out.intended.push_back(send->intended);
      out.lag.push_back(now - send->intended);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("sleep pacing: exact wake-ups send every arrival at its time or within the batch window, never early") {
  const auto expected = intended_times(10'000, 2.0, 11);
  auto schedule = sim::ArrivalSchedule::constant(10'000, Seconds{2.0}, 11);
  Pacer pacer(schedule, kStart, Pacing::sleep);
  const auto run = replay(pacer, [] { return 0ns; });
  REQUIRE(run.intended == expected);  // the same arrivals, in order, with their exact intended times
  std::size_t on_time = 0;
  for (const auto lag : run.lag) {
    CHECK(lag >= 0ns);
    CHECK(lag <= kDefaultBatchWindow);
    on_time += lag == 0ns;
  }
  // At 10,000/s a wake-up takes the arrival due and those of the next 100 us: 2 on average, so
  // about half as many wake-ups as arrivals (without batching, one each). Each wake-up's last
  // arrival leaves exactly on time.
  CHECK(run.wake_ups < expected.size() * 55 / 100);
  CHECK(run.wake_ups > expected.size() * 45 / 100);
  CHECK(on_time >= run.wake_ups);
}

TEST_CASE("sleep pacing with a 1 ms batch window: a tenth of the wake-ups, never early, never later than the window") {
  const auto expected = intended_times(10'000, 2.0, 11);
  auto schedule = sim::ArrivalSchedule::constant(10'000, Seconds{2.0}, 11);
  Pacer pacer(schedule, kStart, Pacing::sleep, 1ms);
  const auto run = replay(pacer, [] { return 0ns; });
  REQUIRE(run.intended == expected);
  const auto latest = *std::max_element(run.lag.begin(), run.lag.end());
  CHECK(*std::min_element(run.lag.begin(), run.lag.end()) >= 0ns);
  CHECK(latest <= 1ms);
  CHECK(latest > 900us);  // the window is used
  // 1 + 10,000/s x 1 ms = 11 arrivals per wake-up on average.
  CHECK(run.wake_ups < expected.size() * 10 / 100);
  CHECK(run.wake_ups > expected.size() * 8 / 100);
}

TEST_CASE("sleep pacing: sparse arrivals get a wake-up each, at their exact time") {
  const auto expected = intended_times(20, 5.0, 3);
  auto schedule = sim::ArrivalSchedule::constant(20, Seconds{5.0}, 3);
  Pacer pacer(schedule, kStart, Pacing::sleep);
  std::vector<PacingClock::time_point> wake_ups;
  auto now = kStart;
  while (const auto wake_up = pacer.wake_up(now)) {
    wake_ups.push_back(wake_up->at);
    now = wake_up->at;
    while (pacer.take_due(now)) {
    }
  }
  // 20/s: 100 us apart happens for about 0.2% of pairs; with seed 3 none are.
  CHECK(wake_ups == expected);
}

TEST_CASE("late timers: nothing is taken early, and each lag is exactly how late it went") {
  const auto expected = intended_times(5'000, 2.0, 5);
  auto schedule = sim::ArrivalSchedule::constant(5'000, Seconds{2.0}, 5);
  Pacer pacer(schedule, kStart, Pacing::sleep);
  std::mt19937_64 random(9);
  std::uniform_int_distribution<int> late_us(0, 800);
  const auto run = replay(pacer, [&] { return std::chrono::microseconds(late_us(random)); });
  REQUIRE(run.intended == expected);
  PacingClock::duration most = 0ns;
  for (const auto lag : run.lag) {
    CHECK(lag >= 0ns);
    most = std::max(most, lag);
  }
  CHECK(most <= 800us + kDefaultBatchWindow);
  CHECK(most > 400us);  // the oversleeping shows in the lag: it is not hidden
}

TEST_CASE("spin pacing: a timer to 200 us before, then polls; never early") {
  const auto expected = intended_times(1'000, 1.0, 8);
  auto schedule = sim::ArrivalSchedule::constant(1'000, Seconds{1.0}, 8);
  Pacer pacer(schedule, kStart, Pacing::spin);
  const auto run = replay(pacer, [] { return 0ns; }, 5us);
  REQUIRE(run.intended == expected);
  for (const auto lag : run.lag) {
    CHECK(lag >= 0ns);
    CHECK(lag < 5us);  // found by the poll that first saw it due
  }
  CHECK(run.polls > run.wake_ups);
}

TEST_CASE("session steps merge with arrivals in intended order, and keep their time") {
  auto schedule = sim::ArrivalSchedule::constant(1'000, Seconds{0.1}, 2);
  Pacer pacer(schedule, kStart, Pacing::sleep);
  int session_a = 0, session_b = 0;
  const auto first = *pacer.next_due();
  // A step due before the first arrival is taken first, and the wake-up is at its time.
  pacer.add_step({first - 30us, &session_a, 4});
  pacer.add_step({first + 20ms, &session_b, 5});
  REQUIRE(pacer.wake_up(kStart)->at == first - 30us);
  CHECK_FALSE(pacer.take_due(first - 31us));
  const auto step = pacer.take_due(first - 30us);
  REQUIRE(step);
  CHECK_FALSE(step->arrival);
  CHECK(step->step.session == &session_a);
  CHECK(step->step.endpoint == 4);
  // Then everything up to 20 ms later, the second step among the arrivals in its place.
  std::vector<PacingClock::time_point> taken;
  bool step_taken = false;
  while (const auto send = pacer.take_due(first + 20ms)) {
    taken.push_back(send->intended);
    if (!send->arrival) {
      step_taken = true;
      CHECK(send->step.session == &session_b);
    }
  }
  CHECK(step_taken);
  CHECK(std::is_sorted(taken.begin(), taken.end()));
  CHECK(taken.back() <= first + 20ms);
  CHECK(pacer.has_arrivals());
  CHECK_FALSE(pacer.has_steps());
}

TEST_CASE("after a stop, the rest of the schedule is counted, not sent") {
  const auto expected = intended_times(2'000, 1.0, 4);
  auto schedule = sim::ArrivalSchedule::constant(2'000, Seconds{1.0}, 4);
  Pacer pacer(schedule, kStart, Pacing::sleep);
  std::size_t sent = 0;
  while (pacer.take_due(kStart + 250ms)) ++sent;
  std::size_t rest = 0;
  while (pacer.take_arrival()) ++rest;
  CHECK(sent + rest == expected.size());
  CHECK(sent == static_cast<std::size_t>(std::count_if(expected.begin(), expected.end(), [](auto at) { return at <= kStart + 250ms; })));
  CHECK_FALSE(pacer.wake_up(kStart + 250ms));
}
