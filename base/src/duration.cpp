#include "uptake/base/duration.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace uptake {

std::optional<double> decimal_number(std::string_view text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<Seconds> parse_duration(std::string_view text, BareNumber bare) {
  // The number is digits with at most one decimal point between digits: the grammar the
  // scenario schema's pattern gives editors, and one that leaves no sign, space, exponent,
  // inf or nan for from_chars to take.
  std::size_t digits_end = 0;
  bool point = false;
  while (digits_end < text.size()) {
    const char c = text[digits_end];
    if (c == '.' && !point && digits_end > 0 && digits_end + 1 < text.size() && text[digits_end + 1] >= '0' && text[digits_end + 1] <= '9') {
      point = true;
    } else if (c < '0' || c > '9') {
      break;
    }
    ++digits_end;
  }
  if (digits_end == 0) return std::nullopt;
  const auto value = decimal_number(text.substr(0, digits_end));
  if (!value) return std::nullopt;  // too large for a double
  const auto unit = text.substr(digits_end);
  double scale = 0;
  if (unit.empty()) {
    if (bare == BareNumber::refused) return std::nullopt;
    scale = bare == BareNumber::seconds ? 1 : 1e-3;
  } else if (unit == "ns") {
    scale = 1e-9;
  } else if (unit == "us" || unit == "µs") {
    scale = 1e-6;
  } else if (unit == "ms") {
    scale = 1e-3;
  } else if (unit == "s") {
    scale = 1;
  } else if (unit == "m" || unit == "min") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "d") {
    scale = 86400;
  } else {
    return std::nullopt;
  }
  const double seconds = *value * scale;
  if (!std::isfinite(seconds)) return std::nullopt;  // 1e308d
  return Seconds{seconds};
}

std::string duration_forms(BareNumber bare) {
  constexpr const char* kUnits = "a duration such as 500ms, 30s, 5m, 2h or 1d";
  switch (bare) {
    case BareNumber::seconds: return fmt::format("{}, or a number of seconds", kUnits);
    case BareNumber::milliseconds: return fmt::format("{}, or a number of milliseconds", kUnits);
    case BareNumber::refused: break;
  }
  return fmt::format("{} (a number with its unit)", kUnits);
}

std::string format_duration(Seconds duration) {
  const double s = duration.count();
  if (s < 1e-3) return fmt::format("{:.0f} µs", s * 1e6);
  if (s < 1) return fmt::format("{:.3g} ms", s * 1e3);
  if (s < 120) return fmt::format("{:.3g} s", s);
  const auto total_minutes = static_cast<long long>(std::llround(s / 60));
  if (total_minutes < 60) return fmt::format("{}m {:02}s", total_minutes, static_cast<long long>(std::llround(s)) % 60);
  return fmt::format("{}h {:02}m", total_minutes / 60, total_minutes % 60);
}

}  // namespace uptake
