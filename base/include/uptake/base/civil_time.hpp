#pragma once
// Dates, times of day and UTC offsets as people write them in scenarios and options (durations
// are uptake/base/duration.hpp's, included here for the Seconds they share).
// Every parser returns std::nullopt on malformed text; the caller knows the field and builds
// the InputError, so the message can name where the text came from.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "uptake/base/duration.hpp"

namespace uptake {

// "2022-07-15" -> days since the epoch. Rejects impossible dates (2022-02-30).
std::optional<std::chrono::sys_days> parse_date(std::string_view text);

// "2022-07-15", "2022-07-15T10:00", "2022-07-15 10:00:30" -> a wall-clock instant, read as if
// it were UTC; subtract the scenario's UTC offset to get the real instant.
std::optional<std::chrono::sys_seconds> parse_date_time(std::string_view text);

// "+09:00", "-05:30", "UTC", "Z" -> offset east of UTC. Fixed offsets only; zones with
// daylight-saving changes ("Europe/Berlin") are sim::TimeZone's.
std::optional<std::chrono::seconds> parse_utc_offset(std::string_view text);

// "2022-07-15"
std::string format_date(std::chrono::sys_days day);
// "2022-07-15 10:00:00"
std::string format_date_time(std::chrono::sys_seconds instant);
// RFC 3339 in UTC, as JSON readers expect timestamps: "2022-07-15T10:00:00Z", with
// milliseconds ("2022-07-15T10:00:00.250Z") when the instant has them.
std::string format_rfc3339(std::chrono::sys_seconds instant);
std::string format_rfc3339(std::chrono::sys_time<std::chrono::milliseconds> instant);

}  // namespace uptake
