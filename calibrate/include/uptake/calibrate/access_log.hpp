#pragma once
// Reading web server access logs: nginx's and Apache's `combined` and `common` formats and JSON
// lines, plain or gzip, one line at a time. Nothing here keeps a line once it has been parsed:
// memory stays flat however long the log.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uptake::calibrate {

enum class LogFormat {
  automatic,  // per line: JSON when it starts with '{', else combined or common
  combined,   // %h %l %u [%t] "%r" %>s %b "%{Referer}i" "%{User-Agent}i"
  common,     // %h %l %u [%t] "%r" %>s %b
  json,       // one JSON object per line, fields named by JsonFields
};

// "auto", "combined", "common", "json"; std::nullopt otherwise.
std::optional<LogFormat> parse_log_format(std::string_view text);

// The JSON field that holds each part of a request. A time is an RFC 3339 text with or without
// its offset ("2024-03-04T10:00:00.250+09:00"), nginx's $time_local text, or a number of seconds
// since the epoch (fractions allowed). The request may be given whole ("GET /x HTTP/1.1" in
// `request`) or as `method` and `path`.
struct JsonFields {
  std::string time = "time";
  std::string method = "method";
  std::string path = "path";
  std::string request = "request";
  std::string status = "status";
  std::string client = "remote_addr";
  std::string user_agent = "user_agent";
  std::string cookie = "cookie";  // the raw Cookie header, for --session-key cookie:NAME
};

// One request as the log tells it. The views point into the line (or into scratch storage of
// the parser) and are valid until the next line is parsed.
struct LogRecord {
  std::int64_t utc_ms = 0;            // when, milliseconds since the epoch (UTC)
  std::optional<std::int32_t> offset_seconds;  // the UTC offset the log wrote the time with, if it did
  bool whole_seconds = true;          // the time had no fraction: gaps are known to a second only
  std::string_view method;
  std::string_view target;            // path with any query string
  int status = 0;
  std::string_view client;            // remote address
  std::string_view user_agent;        // empty in the common format
  std::string_view cookie;            // the raw Cookie header when the log has it (JSON)
  // Another field of a JSON line, for --session-key header:NAME: the value of `session_field`.
  std::string_view session_field;
};

// Why a line could not be read; one counter per reason.
enum class Malformed : std::uint8_t {
  none,
  empty,
  no_timestamp,
  bad_timestamp,
  bad_request_line,
  bad_status,
  not_json,
  missing_field,
  too_long,
  out_of_span,  // more than kLongestSpanDays from the log's first request
};
inline constexpr std::size_t kMalformedReasons = 10;
// A log may span at most this many days from its first request: the per-minute counts are sized
// by the span, so one line dated decades away must not cost gigabytes.
inline constexpr std::int64_t kLongestSpanDays = 400;
std::string_view describe(Malformed reason);

// Parses one line of the given format into `record`; Malformed::none when it was read. The
// JSON parser needs `fields`; `session_field` names an extra JSON field to keep (may be empty).
class LineParser {
 public:
  LineParser(LogFormat format, JsonFields fields, std::string session_field);
  Malformed parse(std::string_view line, LogRecord& record);

 private:
  Malformed parse_text(std::string_view line, LogRecord& record);
  Malformed parse_json(std::string_view line, LogRecord& record);

  LogFormat format_;
  JsonFields fields_;
  std::string session_field_;
  // The last timestamp text read and what it meant: consecutive lines of a busy log share their
  // second, and a compare is cheaper than a parse.
  std::string last_time_text_;
  std::int64_t last_time_ms_ = 0;
  std::int32_t last_offset_ = 0;
  // Storage of the JSON line's strings (views in the record point here).
  std::vector<std::string> json_values_;
};

// Reads text lines from a plain or gzip-compressed file (zlib reads both, and concatenated
// gzip members). Lines longer than kLongestLine are cut and flagged.
class LineReader {
 public:
  static constexpr std::size_t kLongestLine = 64 * 1024;
  // Throws InputError naming `path` when it is missing, not a regular file or unreadable.
  explicit LineReader(const std::string& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its line break; false at the end. `truncated` says the line was
  // longer than kLongestLine. Throws InputError when the file cannot be read (a corrupt gzip).
  bool next(std::string_view& line, bool& truncated);
  std::uint64_t line_number() const { return line_number_; }

 private:
  bool fill();

  std::string path_;
  void* file_ = nullptr;  // gzFile
  std::vector<char> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  bool skipping_ = false;  // inside the rest of a line already returned as truncated
  std::uint64_t line_number_ = 0;
};

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
constexpr std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

}  // namespace uptake::calibrate
