#pragma once
// A distribution of durations written as text: "const:5ms", "exp:2s" (exponential with that
// mean) or "lognormal:3s,2s" (log-normal with that mean and standard deviation). The synthetic
// service times of the reference service and the think times of user sessions are both drawn
// from one.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "uptake/base/random.hpp"

namespace uptake {

struct DurationDistribution {
  enum class Kind { exponential, constant, lognormal };
  Kind kind = Kind::constant;
  double mean_seconds = 0;
  double sd_seconds = 0;  // lognormal only
  std::string text;       // as written

  // The longest mean or standard deviation accepted: far inside what nanosecond timers hold
  // (1e308 s overflowed them), and longer than any service or think time worth modelling.
  static constexpr double kLongestSeconds = 3600;

  // std::nullopt with `problem` set when the text is not a distribution. With
  // `bare_is_constant`, a plain duration ("3s") is read as "const:3s".
  static std::optional<DurationDistribution> parse(std::string_view text, std::string& problem, bool bare_is_constant = false);

  // One draw (at most a day, however long a log-normal's tail).
  std::chrono::nanoseconds draw(Random& random) const;
};

}  // namespace uptake
