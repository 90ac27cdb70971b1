#include "uptake/base/civil_time.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace uptake {
namespace {

using namespace std::chrono;

// Reads exactly `digits` decimal digits at `pos`.
std::optional<int> read_fixed(std::string_view text, std::size_t pos, std::size_t digits) {
  if (pos + digits > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + digits; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

std::optional<sys_days> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto y = read_fixed(text, 0, 4);
  const auto m = read_fixed(text, 5, 2);
  const auto d = read_fixed(text, 8, 2);
  if (!y || !m || !d) return std::nullopt;
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*m)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd};
}

std::optional<sys_seconds> parse_date_time(std::string_view text) {
  const auto date = parse_date(text.substr(0, std::min<std::size_t>(10, text.size())));
  if (!date) return std::nullopt;
  if (text.size() == 10) return sys_seconds{*date};
  if (text[10] != 'T' && text[10] != ' ') return std::nullopt;
  const auto rest = text.substr(11);
  if (rest.size() != 5 && rest.size() != 8) return std::nullopt;
  const auto hh = read_fixed(rest, 0, 2);
  const auto mm = read_fixed(rest, 3, 2);
  if (!hh || !mm || rest[2] != ':' || *hh > 23 || *mm > 59) return std::nullopt;
  int ss = 0;
  if (rest.size() == 8) {
    const auto s = read_fixed(rest, 6, 2);
    if (!s || rest[5] != ':' || *s > 59) return std::nullopt;
    ss = *s;
  }
  return sys_seconds{*date} + hours{*hh} + minutes{*mm} + seconds{ss};
}

std::optional<seconds> parse_utc_offset(std::string_view text) {
  if (text == "UTC" || text == "Z" || text == "utc") return seconds{0};
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':') return std::nullopt;
  const auto hh = read_fixed(text, 1, 2);
  const auto mm = read_fixed(text, 4, 2);
  if (!hh || !mm || *hh > 14 || *mm > 59) return std::nullopt;
  const seconds magnitude = hours{*hh} + minutes{*mm};
  return text[0] == '+' ? magnitude : -magnitude;
}

std::optional<Seconds> parse_duration(std::string_view text) {
  double value = 0;
  const auto* begin = text.data();
  const auto* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc{} || stop == begin || !std::isfinite(value) || value < 0) return std::nullopt;
  const std::string_view unit(stop, static_cast<std::size_t>(end - stop));
  double scale = 0;
  if (unit == "ns") scale = 1e-9;
  else if (unit == "us" || unit == "µs") scale = 1e-6;
  else if (unit == "ms") scale = 1e-3;
  else if (unit == "s") scale = 1;
  else if (unit == "m" || unit == "min") scale = 60;
  else if (unit == "h") scale = 3600;
  else if (unit == "d") scale = 86400;
  else return std::nullopt;
  return Seconds{value * scale};
}

std::string format_date(sys_days day) {
  const year_month_day ymd{day};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

std::string format_date_time(sys_seconds instant) {
  const auto day = floor<days>(instant);
  const hh_mm_ss time{instant - day};
  return fmt::format("{} {:02}:{:02}:{:02}", format_date(day), time.hours().count(), time.minutes().count(),
                     time.seconds().count());
}

std::string format_rfc3339(sys_seconds instant) {
  auto text = format_date_time(instant);
  text[10] = 'T';
  return text + "Z";
}

std::string format_rfc3339(sys_time<std::chrono::milliseconds> instant) {
  const auto whole = floor<std::chrono::seconds>(instant);
  const auto milliseconds = (instant - whole).count();
  auto text = format_date_time(whole);
  text[10] = 'T';
  return milliseconds ? fmt::format("{}.{:03}Z", text, milliseconds) : text + "Z";
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
