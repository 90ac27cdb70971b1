#pragma once
// The pauses between a session's requests: kept as sufficient statistics and a log-spaced
// histogram (never as a list of gaps), and fitted with a log-normal or an exponential
// distribution, whichever the likelihood prefers (by AIC: the log-normal has one parameter more).
#include <array>
#include <cstdint>
#include <string>

#include "uptake/calibrate/calibration.hpp"

namespace uptake::calibrate {

class ThinkTimeSample {
 public:
  // 20 bins a decade from 1 ms to 10,000 s; gaps outside fall in the end bins.
  static constexpr int kBinsPerDecade = 20;
  static constexpr double kLowestLog10 = -3;
  static constexpr std::size_t kBins = 140;

  void add(double seconds);
  void merge(const ThinkTimeSample& other);
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  double sum_log() const { return sum_log_; }
  double sum_log_squared() const { return sum_log_squared_; }
  const std::array<std::uint64_t, kBins>& bins() const { return bins_; }
  // Upper edge of bin i, seconds.
  static double bin_upper(std::size_t i);

 private:
  std::uint64_t count_ = 0;
  double sum_ = 0, sum_log_ = 0, sum_log_squared_ = 0;
  std::array<std::uint64_t, kBins> bins_{};
};

// Fits both distributions by maximum likelihood and keeps the one with the lower AIC. Means
// and standard deviations are held to DurationDistribution::kLongestSeconds.
ThinkTimeFit fit_think_time(const ThinkTimeSample& sample);

// A number of seconds as a scenario's duration reads it: "20.1s", "850ms" (no exponent).
std::string duration_text(double seconds);

}  // namespace uptake::calibrate
