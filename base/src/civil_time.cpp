#include "uptake/base/civil_time.hpp"

#include <fmt/format.h>


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

}  // namespace uptake
