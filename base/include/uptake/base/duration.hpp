#pragma once
// Durations and plain decimal numbers as people write them in scenarios and options: one reader
// of each, so that `--replay-duration 30s` and `replay.duration: 30s` accept the same text.
// Every parser returns std::nullopt on malformed text; the caller knows the field or option and
// builds the InputError, so the message can name where the text came from.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace uptake {

using Seconds = std::chrono::duration<double>;

// `text` as a decimal number and nothing else: no hex (std::stod takes "0x10" as 16), no
// trailing characters, no leading space; std::nullopt otherwise. "inf", "nan", signs and
// exponents are read as numbers: ranges are the caller's.
std::optional<double> decimal_number(std::string_view text);

// What a number written without a unit means where a duration is read: refused where the unit
// would be a guess (a latency threshold such as p99<300), or the unit the field has always
// been given in (seconds for most, milliseconds for --lag-bound).
enum class BareNumber { refused, seconds, milliseconds };

// "500ms", "30s", "5m", "2h", "1d" (and "ns", "us", "µs", "min"): digits with at most one
// decimal point (1.5s, 0.25h) and a unit right after them; a bare number as `bare` says.
// Refused: a sign, a space, an exponent (1e400s), inf and nan, an unknown unit (5x), and a
// value that is not finite once in seconds. Ranges are the caller's.
std::optional<Seconds> parse_duration(std::string_view text, BareNumber bare = BareNumber::refused);

// The forms parse_duration accepts with `bare`, for the "expected" part of a message:
// "a duration such as 500ms, 30s, 5m, 2h or 1d, or a number of seconds".
std::string duration_forms(BareNumber bare);

// Human-friendly duration: "850 µs", "12.3 ms", "4.20 s", "1h 05m".
std::string format_duration(Seconds duration);

}  // namespace uptake
