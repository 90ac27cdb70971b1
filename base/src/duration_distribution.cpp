#include "uptake/base/duration_distribution.hpp"

#include <fmt/format.h>

#include <cmath>

#include "uptake/base/civil_time.hpp"

namespace uptake {

std::optional<DurationDistribution> DurationDistribution::parse(std::string_view text, std::string& problem, bool bare_is_constant) {
  DurationDistribution distribution;
  distribution.text = std::string(text);
  const auto colon = text.find(':');
  if (colon == std::string_view::npos && bare_is_constant) {
    const auto value = parse_duration(text);
    if (!value) {
      problem = fmt::format("'{}' is neither a duration nor a distribution; expected 3s, const:3s, exp:3s or lognormal:3s,2s", text);
      return std::nullopt;
    }
    if (value->count() > kLongestSeconds) {
      problem = fmt::format("'{}' is {:g} s; expected at most 1h", text, value->count());
      return std::nullopt;
    }
    distribution.mean_seconds = value->count();
    return distribution;
  }
  const auto kind = text.substr(0, colon);
  const auto arguments = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  const auto comma = arguments.find(',');
  const auto mean = parse_duration(arguments.substr(0, comma));
  if (kind == "exp") distribution.kind = Kind::exponential;
  else if (kind == "const") distribution.kind = Kind::constant;
  else if (kind == "lognormal") distribution.kind = Kind::lognormal;
  else {
    problem = fmt::format("'{}' names no distribution; expected exp:MEAN, const:VALUE or lognormal:MEAN,SD (e.g. exp:2ms)", text);
    return std::nullopt;
  }
  // A constant may be 0 (no pause); a mean of a random duration must be above it.
  if (!mean || (distribution.kind != Kind::constant && mean->count() <= 0)) {
    problem = fmt::format("'{}' has no valid mean; expected a duration above 0 such as 2ms", text);
    return std::nullopt;
  }
  if (mean->count() > kLongestSeconds) {
    problem = fmt::format("'{}' has a mean of {:g} s; expected at most 1h", text, mean->count());
    return std::nullopt;
  }
  distribution.mean_seconds = mean->count();
  if (distribution.kind == Kind::lognormal) {
    const auto sd = comma == std::string_view::npos ? std::nullopt : parse_duration(arguments.substr(comma + 1));
    if (!sd || sd->count() <= 0) {
      problem = fmt::format("'{}' needs a standard deviation; expected lognormal:MEAN,SD such as lognormal:2ms,1ms", text);
      return std::nullopt;
    }
    if (sd->count() > kLongestSeconds) {
      problem = fmt::format("'{}' has a standard deviation of {:g} s; expected at most 1h", text, sd->count());
      return std::nullopt;
    }
    distribution.sd_seconds = sd->count();
  } else if (comma != std::string_view::npos) {
    problem = fmt::format("'{}' takes one duration", text);
    return std::nullopt;
  }
  return distribution;
}

std::chrono::nanoseconds DurationDistribution::draw(Random& random) const {
  double seconds = mean_seconds;
  switch (kind) {
    case Kind::constant: break;
    case Kind::exponential: seconds = mean_seconds * random.exponential(); break;
    case Kind::lognormal: {
      // Parameters of the underlying normal from the mean m and standard deviation s.
      const double m = mean_seconds, s = sd_seconds;
      const double sigma2 = std::log1p((s * s) / (m * m));
      const double mu = std::log(m) - sigma2 / 2;
      seconds = std::exp(mu + std::sqrt(sigma2) * random.normal());
      break;
    }
  }
  // A long tail of a log-normal may exceed any timer; a day bounds one draw well.
  seconds = std::min(seconds, 86400.0);
  return std::chrono::nanoseconds{static_cast<std::int64_t>(seconds * 1e9)};
}

}  // namespace uptake
