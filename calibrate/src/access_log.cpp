#include "uptake/calibrate/access_log.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include <cstring>

#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"

namespace uptake::calibrate {

std::optional<LogFormat> parse_log_format(std::string_view text) {
  if (text == "auto") return LogFormat::automatic;
  if (text == "combined") return LogFormat::combined;
  if (text == "common") return LogFormat::common;
  if (text == "json") return LogFormat::json;
  return std::nullopt;
}

std::string_view describe(Malformed reason) {
  switch (reason) {
    case Malformed::none: return "read";
    case Malformed::empty: return "empty line";
    case Malformed::no_timestamp: return "no [timestamp]";
    case Malformed::bad_timestamp: return "unreadable timestamp";
    case Malformed::bad_request_line: return "unreadable request line";
    case Malformed::bad_status: return "unreadable status";
    case Malformed::not_json: return "not a JSON object";
    case Malformed::missing_field: return "a field of the format is missing";
    case Malformed::too_long: return "line longer than 64 KiB";
    case Malformed::out_of_span: return "time more than 400 days from the log's first request";
  }
  return "unknown";
}

namespace {

bool digits(std::string_view text, std::size_t at, std::size_t count, int& value) {
  if (at + count > text.size()) return false;
  value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return true;
}

int month_of(std::string_view name) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int m = 0; m < 12; ++m) {
    if (name == kMonths[m]) return m + 1;
  }
  return 0;
}

bool valid_civil(int year, int month, int day, int hour, int minute, int second) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1970 || year > 2200 || month < 1 || month > 12 || day < 1 || day > kDays[month - 1]) return false;
  if (month == 2 && day == 29 && !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) return false;
  return hour < 24 && minute < 60 && second <= 60;
}

// "10/Oct/2000:13:55:36 -0700" (nginx $time_local, Apache %t).
bool parse_local_time(std::string_view text, std::int64_t& utc_ms, std::int32_t& offset) {
  int day = 0, year = 0, hour = 0, minute = 0, second = 0, off_h = 0, off_m = 0;
  if (text.size() != 26 || text[2] != '/' || text[6] != '/' || text[11] != ':' || text[14] != ':' || text[17] != ':' || text[20] != ' ') return false;
  const int month = month_of(text.substr(3, 3));
  if (!digits(text, 0, 2, day) || !digits(text, 7, 4, year) || !digits(text, 12, 2, hour) || !digits(text, 15, 2, minute) ||
      !digits(text, 18, 2, second) || !digits(text, 22, 2, off_h) || !digits(text, 24, 2, off_m) || (text[21] != '+' && text[21] != '-')) {
    return false;
  }
  if (!valid_civil(year, month, day, hour, minute, second) || off_h > 23 || off_m > 59) return false;
  offset = (text[21] == '-' ? -1 : 1) * (off_h * 3600 + off_m * 60);
  const std::int64_t local = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + hour * 3600 + minute * 60 + second;
  utc_ms = (local - offset) * 1000;
  return true;
}

// "2024-03-04T10:00:00", with an optional fraction and an optional "Z" or "+09:00"/"+0900".
bool parse_rfc3339(std::string_view text, std::int64_t& utc_ms, std::optional<std::int32_t>& offset, bool& whole) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != ' ') || text[13] != ':' || text[16] != ':') return false;
  if (!digits(text, 0, 4, year) || !digits(text, 5, 2, month) || !digits(text, 8, 2, day) || !digits(text, 11, 2, hour) ||
      !digits(text, 14, 2, minute) || !digits(text, 17, 2, second) || !valid_civil(year, month, day, hour, minute, second)) {
    return false;
  }
  std::size_t at = 19;
  std::int64_t millis = 0;
  whole = true;
  if (at < text.size() && text[at] == '.') {
    ++at;
    int scale = 100;
    const std::size_t first = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      millis += (text[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == first) return false;
    whole = false;
  }
  offset.reset();
  if (at < text.size()) {
    if (text[at] == 'Z' && at + 1 == text.size()) {
      offset = 0;
    } else if (text[at] == '+' || text[at] == '-') {
      int off_h = 0, off_m = 0;
      const std::size_t minutes_at = text.size() - at == 6 ? at + 4 : at + 3;
      if ((text.size() - at != 6 || text[at + 3] != ':') && text.size() - at != 5) return false;
      if (!digits(text, at + 1, 2, off_h) || !digits(text, minutes_at, 2, off_m) || off_h > 23 || off_m > 59) return false;
      offset = (text[at] == '-' ? -1 : 1) * (off_h * 3600 + off_m * 60);
    } else {
      return false;
    }
  }
  const std::int64_t local = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + hour * 3600 + minute * 60 + second;
  utc_ms = (local - offset.value_or(0)) * 1000 + millis;
  return true;
}

// The end of a quoted field that starts after `open`, skipping backslash escapes (Apache writes
// \" inside a field; nginx writes \x22, which needs nothing).
std::size_t closing_quote(std::string_view line, std::size_t from) {
  for (std::size_t i = from; i < line.size(); ++i) {
    if (line[i] == '\\') {
      ++i;
    } else if (line[i] == '"') {
      return i;
    }
  }
  return std::string_view::npos;
}

bool split_request(std::string_view request, LogRecord& record) {
  const auto first_space = request.find(' ');
  if (first_space == std::string_view::npos || first_space == 0) return false;
  record.method = request.substr(0, first_space);
  for (char c : record.method) {
    if (c < 'A' || c > 'Z') return false;
  }
  auto rest = request.substr(first_space + 1);
  const auto second_space = rest.find(' ');
  record.target = rest.substr(0, second_space);
  return !record.target.empty() && (record.target[0] == '/' || record.target.starts_with("http"));
}

}  // namespace

LineParser::LineParser(LogFormat format, JsonFields fields, std::string session_field)
    : format_(format), fields_(std::move(fields)), session_field_(std::move(session_field)) {}

Malformed LineParser::parse(std::string_view line, LogRecord& record) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.empty()) return Malformed::empty;
  record = LogRecord{};
  if (format_ == LogFormat::json || (format_ == LogFormat::automatic && line.front() == '{')) return parse_json(line, record);
  return parse_text(line, record);
}

Malformed LineParser::parse_text(std::string_view line, LogRecord& record) {
  const auto space = line.find(' ');
  if (space == std::string_view::npos) return Malformed::no_timestamp;
  record.client = line.substr(0, space);
  const auto open = line.find('[', space);
  if (open == std::string_view::npos) return Malformed::no_timestamp;
  const auto close = line.find(']', open);
  if (close == std::string_view::npos) return Malformed::no_timestamp;
  const auto time_text = line.substr(open + 1, close - open - 1);
  if (time_text != last_time_text_) {
    std::int64_t ms = 0;
    std::int32_t offset = 0;
    if (!parse_local_time(time_text, ms, offset)) return Malformed::bad_timestamp;
    last_time_text_.assign(time_text);
    last_time_ms_ = ms;
    last_offset_ = offset;
  }
  record.utc_ms = last_time_ms_;
  record.offset_seconds = last_offset_;
  if (close + 2 >= line.size() || line[close + 1] != ' ' || line[close + 2] != '"') return Malformed::bad_request_line;
  const auto request_end = closing_quote(line, close + 3);
  if (request_end == std::string_view::npos) return Malformed::bad_request_line;
  if (!split_request(line.substr(close + 3, request_end - close - 3), record)) return Malformed::bad_request_line;
  int status = 0;
  if (request_end + 5 > line.size() || line[request_end + 1] != ' ' || !digits(line, request_end + 2, 3, status) || status < 100 || status > 599 ||
      (request_end + 5 < line.size() && line[request_end + 5] != ' ')) {
    return Malformed::bad_status;
  }
  record.status = status;
  // Bytes sent, then (combined) the quoted referrer and user agent.
  const auto after_bytes = line.find(' ', request_end + 6);
  bool has_agent = false;
  if (after_bytes != std::string_view::npos && after_bytes + 1 < line.size() && line[after_bytes + 1] == '"') {
    const auto referrer_end = closing_quote(line, after_bytes + 2);
    if (referrer_end != std::string_view::npos && referrer_end + 2 < line.size() && line[referrer_end + 1] == ' ' && line[referrer_end + 2] == '"') {
      const auto agent_end = closing_quote(line, referrer_end + 3);
      if (agent_end != std::string_view::npos) {
        record.user_agent = line.substr(referrer_end + 3, agent_end - referrer_end - 3);
        has_agent = true;
      }
    }
  }
  if (format_ == LogFormat::combined && !has_agent) return Malformed::missing_field;
  return Malformed::none;
}

Malformed LineParser::parse_json(std::string_view line, LogRecord& record) {
  const auto object = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
  if (object.is_discarded() || !object.is_object()) return Malformed::not_json;
  json_values_.clear();
  json_values_.reserve(8);
  const auto text_of = [&](const std::string& name) -> std::optional<std::string_view> {
    const auto found = object.find(name);
    if (found == object.end()) return std::nullopt;
    if (found->is_string()) {
      json_values_.push_back(found->get<std::string>());
    } else if (found->is_number()) {
      json_values_.push_back(found->dump());
    } else {
      return std::nullopt;
    }
    return std::string_view(json_values_.back());
  };
  const auto time = object.find(fields_.time);
  if (time == object.end()) return Malformed::no_timestamp;
  if (time->is_number()) {
    const double seconds = time->get<double>();
    if (!(seconds > 0 && seconds < 7.3e9)) return Malformed::bad_timestamp;
    record.utc_ms = static_cast<std::int64_t>(std::llround(seconds * 1000));
    record.whole_seconds = time->is_number_integer();
  } else if (time->is_string()) {
    const auto& text = time->get_ref<const std::string&>();
    std::int32_t offset = 0;
    if (parse_local_time(text, record.utc_ms, offset)) {
      record.offset_seconds = offset;
    } else if (!parse_rfc3339(text, record.utc_ms, record.offset_seconds, record.whole_seconds)) {
      return Malformed::bad_timestamp;
    }
  } else {
    return Malformed::bad_timestamp;
  }
  const auto method = text_of(fields_.method);
  const auto path = text_of(fields_.path);
  if (method && path) {
    record.method = *method;
    record.target = *path;
    if (record.target.empty() || record.method.empty()) return Malformed::bad_request_line;
  } else if (const auto request = text_of(fields_.request)) {
    if (!split_request(*request, record)) return Malformed::bad_request_line;
  } else {
    return Malformed::missing_field;
  }
  const auto status = object.find(fields_.status);
  if (status == object.end()) return Malformed::missing_field;
  if (status->is_number_integer()) {
    record.status = status->get<int>();
  } else if (status->is_string()) {
    const auto& text = status->get_ref<const std::string&>();
    if (text.size() != 3 || !digits(text, 0, 3, record.status)) return Malformed::bad_status;
  } else {
    return Malformed::bad_status;
  }
  if (record.status < 100 || record.status > 599) return Malformed::bad_status;
  if (const auto client = text_of(fields_.client)) record.client = *client;
  if (const auto agent = text_of(fields_.user_agent)) record.user_agent = *agent;
  if (const auto cookie = text_of(fields_.cookie)) record.cookie = *cookie;
  if (!session_field_.empty()) {
    if (const auto value = text_of(session_field_)) record.session_field = *value;
  }
  return Malformed::none;
}

LineReader::LineReader(const std::string& path) : path_(path), buffer_(256 * 1024) {
  require_regular_file(path, "an access log (plain or gzip)");
  file_ = gzopen(path.c_str(), "rb");
  if (file_ == nullptr) throw InputError({path, 0, 0}, "", "cannot be opened", "a readable access log");
  gzbuffer(static_cast<gzFile>(file_), 256 * 1024);
}

LineReader::~LineReader() {
  if (file_ != nullptr) gzclose(static_cast<gzFile>(file_));
}

bool LineReader::fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  const auto room = static_cast<unsigned>(buffer_.size() - end_);
  const int read = gzread(static_cast<gzFile>(file_), buffer_.data() + end_, room);
  if (read < 0) {
    int code = 0;
    const char* message = gzerror(static_cast<gzFile>(file_), &code);
    throw InputError({path_, static_cast<int>(line_number_ + 1), 0}, "", fmt::format("cannot be read: {}", message ? message : "zlib error"),
                     "a plain or gzip-compressed access log");
  }
  if (read == 0) {
    // zlib reports a compressed stream cut short only here, as a buffer error at its end.
    int code = Z_OK;
    gzerror(static_cast<gzFile>(file_), &code);
    if (code == Z_BUF_ERROR) {
      throw InputError({path_, static_cast<int>(line_number_ + 1), 0}, "", "ends inside its gzip stream (cut short while being written or copied?)",
                       "a whole gzip file, or the plain log");
    }
    eof_ = true;
    return false;
  }
  end_ += static_cast<std::size_t>(read);
  return true;
}

bool LineReader::next(std::string_view& line, bool& truncated) {
  truncated = false;
  for (;;) {
    const char* start = buffer_.data() + begin_;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
    if (newline != nullptr) {
      const auto length = static_cast<std::size_t>(newline - start);
      begin_ += length + 1;
      if (skipping_) {
        skipping_ = false;
        continue;
      }
      ++line_number_;
      line = std::string_view(start, length);
      return true;
    }
    if (end_ - begin_ >= kLongestLine) {
      // A line longer than any request worth reading: returned cut, its rest skipped.
      if (skipping_) {
        begin_ = end_;
      } else {
        ++line_number_;
        line = std::string_view(start, kLongestLine);
        truncated = true;
        begin_ = end_;
        skipping_ = true;
        return true;
      }
    }
    if (!fill()) {
      if (end_ > begin_ && !skipping_) {
        ++line_number_;
        line = std::string_view(buffer_.data() + begin_, end_ - begin_);
        begin_ = end_;
        return true;
      }
      return false;
    }
  }
}

}  // namespace uptake::calibrate
