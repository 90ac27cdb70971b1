#include "uptake/reports/check_result.hpp"

#include <fmt/format.h>

#include <cmath>

namespace uptake::reports {

std::string format_latency(double seconds) {
  if (std::abs(seconds) >= 1) return fmt::format("{:.3f} s", seconds);
  return fmt::format("{:.3f} ms", seconds * 1e3);
}

std::string format_percent(double fraction) { return fmt::format("{:.3f}%", fraction * 100); }

std::string format_rate(double requests_per_second) { return fmt::format("{:.1f}/s", requests_per_second); }

}  // namespace uptake::reports
