#include "uptake/loadgen/pacer.hpp"

#include <algorithm>

namespace uptake::loadgen {

Pacer::Pacer(sim::ArrivalSchedule& schedule, PacingClock::time_point start, Pacing pacing, std::chrono::microseconds batch_window)
    : schedule_(schedule), start_(start), pacing_(pacing), batch_window_(batch_window) {
  has_next_ = draw_next();
}

std::optional<PacingClock::time_point> Pacer::next_due() const {
  std::optional<PacingClock::time_point> due;
  if (has_next_) due = arrival_time(next_);
  if (!steps_.empty() && (!due || steps_.top().at < *due)) due = steps_.top().at;
  return due;
}

std::optional<DueSend> Pacer::take_due(PacingClock::time_point now) {
  const bool arrival_first = has_next_ && (steps_.empty() || arrival_time(next_) <= steps_.top().at);
  if (!arrival_first && steps_.empty()) return std::nullopt;
  const auto due = arrival_first ? arrival_time(next_) : steps_.top().at;
  if (due > now) return std::nullopt;
  DueSend send;
  send.intended = due;
  if (arrival_first) {
    send.arrival = next_;
    has_next_ = draw_next();
  } else {
    send.step = steps_.top();
    steps_.pop();
  }
  return send;
}

std::optional<WakeUp> Pacer::wake_up(PacingClock::time_point now) {
  const auto due = next_due();
  if (!due) return std::nullopt;
  if (pacing_ == Pacing::spin) {
    // The last stretch before a send is polled, not slept: a sleeping thread (above all a
    // virtual CPU that halts) wakes tens to hundreds of microseconds late.
    // At the window's start exactly (a timer that fired on time) it polls too: a timer for that
    // same instant would fire at once, and again, until the clock moved.
    if (*due - now <= kSpinWindow) return WakeUp{*due, true};
    return WakeUp{*due - kSpinWindow, false};
  }
  return WakeUp{batched(*due), false};
}

PacedStep Pacer::pop_step() {
  const auto step = steps_.top();
  steps_.pop();
  return step;
}

std::optional<std::pair<PacingClock::time_point, sim::Arrival>> Pacer::take_arrival() {
  if (!has_next_) return std::nullopt;
  std::pair<PacingClock::time_point, sim::Arrival> taken{arrival_time(next_), next_};
  has_next_ = draw_next();
  return taken;
}

// Sleep pacing: the arrivals within the batch window after the one due share its wake-up, at the
// last of them (and the worker's fresh look at the clock takes any that came due meanwhile). A
// session's step due earlier keeps its time.
PacingClock::time_point Pacer::batched(PacingClock::time_point due) {
  if (!has_next_ || arrival_time(next_) != due) return due;
  auto wake = due;
  for (std::size_t i = 0;; ++i) {
    if (i == ahead_.size()) {
      if (drained_) break;
      sim::Arrival arrival;
      if (!schedule_.next(arrival)) {
        drained_ = true;
        break;
      }
      ahead_.push_back(arrival);
    }
    const auto at = arrival_time(ahead_[i]);
    if (at - due > batch_window_) break;
    wake = at;
  }
  return steps_.empty() ? wake : std::min(wake, steps_.top().at);
}

// The schedule's next arrival into next_: the first drawn ahead, if any. False at its end.
bool Pacer::draw_next() {
  if (!ahead_.empty()) {
    next_ = ahead_.front();
    ahead_.pop_front();
    return true;
  }
  if (drained_) return false;
  if (schedule_.next(next_)) return true;
  drained_ = true;
  return false;
}

}  // namespace uptake::loadgen
