#include "uptake/calibrate/think_time.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "uptake/base/duration_distribution.hpp"

namespace uptake::calibrate {

void ThinkTimeSample::add(double seconds) {
  const double log_seconds = std::log(seconds);
  ++count_;
  sum_ += seconds;
  sum_log_ += log_seconds;
  sum_log_squared_ += log_seconds * log_seconds;
  const double position = (std::log10(seconds) - kLowestLog10) * kBinsPerDecade;
  const auto bin = position <= 0 ? std::size_t{0} : std::min(kBins - 1, static_cast<std::size_t>(position));
  ++bins_[bin];
}

void ThinkTimeSample::merge(const ThinkTimeSample& other) {
  count_ += other.count_;
  sum_ += other.sum_;
  sum_log_ += other.sum_log_;
  sum_log_squared_ += other.sum_log_squared_;
  for (std::size_t i = 0; i < kBins; ++i) bins_[i] += other.bins_[i];
}

double ThinkTimeSample::bin_upper(std::size_t i) { return std::pow(10.0, kLowestLog10 + static_cast<double>(i + 1) / kBinsPerDecade); }

std::string duration_text(double seconds) {
  seconds = std::clamp(seconds, 0.001, DurationDistribution::kLongestSeconds);
  if (seconds >= 100) return fmt::format("{:.0f}s", seconds);
  if (seconds >= 10) return fmt::format("{:.1f}s", seconds);
  if (seconds >= 1) return fmt::format("{:.2f}s", seconds);
  return fmt::format("{:.0f}ms", std::max(1.0, seconds * 1000));
}

ThinkTimeFit fit_think_time(const ThinkTimeSample& sample) {
  ThinkTimeFit fit;
  fit.gaps = sample.count();
  if (fit.gaps == 0) return fit;
  const double n = static_cast<double>(fit.gaps);
  const double mean = sample.sum() / n;
  const double mu = sample.sum_log() / n;
  const double variance = std::max(sample.sum_log_squared() / n - mu * mu, 1e-12);
  const double sigma = std::sqrt(variance);
  constexpr double kLogTwoPi = 1.8378770664093453;
  const double log_likelihood_lognormal = -sample.sum_log() - n * std::log(sigma) - n / 2 * kLogTwoPi - n / 2;
  const double log_likelihood_exponential = -n * std::log(mean) - n;
  fit.aic_lognormal = 2 * 2 - 2 * log_likelihood_lognormal;
  fit.aic_exponential = 2 * 1 - 2 * log_likelihood_exponential;
  const bool lognormal = fit.gaps >= 2 && fit.aic_lognormal < fit.aic_exponential;
  fit.kind = lognormal ? "lognormal" : "exponential";
  const auto cdf = [&](double x) {
    return lognormal ? 0.5 * std::erfc(-(std::log(x) - mu) / (sigma * std::sqrt(2.0))) : 1 - std::exp(-x / mean);
  };
  if (lognormal) {
    fit.mean_seconds = std::exp(mu + variance / 2);
    fit.sd_seconds = fit.mean_seconds * std::sqrt(std::expm1(variance));
  } else {
    fit.mean_seconds = mean;
    fit.sd_seconds = mean;
  }
  double cumulative = 0;
  for (std::size_t i = 0; i + 1 < ThinkTimeSample::kBins; ++i) {
    cumulative += static_cast<double>(sample.bins()[i]);
    fit.ks_distance = std::max(fit.ks_distance, std::abs(cumulative / n - cdf(ThinkTimeSample::bin_upper(i))));
  }
  fit.distribution = lognormal ? fmt::format("lognormal:{},{}", duration_text(fit.mean_seconds), duration_text(fit.sd_seconds))
                               : fmt::format("exp:{}", duration_text(fit.mean_seconds));
  return fit;
}

}  // namespace uptake::calibrate
