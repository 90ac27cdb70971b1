#include "uptake/loadgen/response_parser.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace uptake::loadgen {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return (x | 0x20) == (y | 0x20); });
}

// Whether the comma-separated list `value` holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    auto item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

// The first metric's duration of a Server-Timing value ("app;dur=12.3, db;dur=4"), W3C Server
// Timing: milliseconds, in nanoseconds; -1 when it has none, or one that is not a number from 0
// to an hour. A malformed header is not the response's fault: it is ignored, not refused.
std::int64_t server_timing_duration_ns(std::string_view value) {
  const auto first = value.substr(0, value.find(','));
  const auto at = first.find("dur=");
  if (at == std::string_view::npos) return -1;
  auto number = first.substr(at + 4);
  number = number.substr(0, number.find(';'));
  while (!number.empty() && (number.back() == ' ' || number.back() == '\t')) number.remove_suffix(1);
  double milliseconds = 0;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), milliseconds);
  if (error != std::errc{} || end != number.data() + number.size() || number.empty()) return -1;
  if (!(milliseconds >= 0 && milliseconds <= 3'600'000)) return -1;
  return static_cast<std::int64_t>(milliseconds * 1e6);
}

std::optional<std::string_view> find_header(std::string_view head, std::string_view name) noexcept {
  std::size_t from = 0;
  return find_header(head, name, from);
}

std::optional<std::string_view> find_header(std::string_view head, std::string_view name, std::size_t& from) noexcept {
  if (from == 0) {
    const auto status_line_end = head.find("\r\n");
    if (status_line_end == std::string_view::npos) return std::nullopt;
    from = status_line_end + 2;
  }
  while (from < head.size()) {
    const auto line_end = head.find("\r\n", from);
    const auto line = head.substr(from, line_end == std::string_view::npos ? std::string_view::npos : line_end - from);
    from = line_end == std::string_view::npos ? head.size() : line_end + 2;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || !iequals(line.substr(0, colon), name)) continue;
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    return value;
  }
  return std::nullopt;
}

ResponseParser::ResponseParser(std::size_t max_body_bytes, std::size_t max_header_bytes)
    : buffer_(8192), max_body_(max_body_bytes), max_header_(max_header_bytes) {}

void ResponseParser::start(bool head_request, std::size_t kept_body_bytes) {
  // Nothing carries over: bytes beyond the previous response made it an error already.
  end_ = parsed_ = scanned_ = section_bytes_ = head_begin_ = head_size_ = body_begin_ = body_size_ = body_read_ = remaining_ = content_length_ = 0;
  has_content_length_ = chunked_ = false;
  phase_ = Phase::head;
  state_ = State::need_more;
  status_ = 0;
  keep_alive_ = true;
  head_request_ = head_request;
  kept_body_ = kept_body_bytes;
  server_time_ns_ = -1;
  error_ = {};
}

std::span<char> ResponseParser::prepare(std::size_t minimum) {
  if (buffer_.size() - end_ < minimum) {
    reclaim();
    if (buffer_.size() - end_ < minimum) buffer_.resize(std::max(buffer_.size() * 2, end_ + minimum));
  }
  return {buffer_.data() + end_, buffer_.size() - end_};
}

// Drops the bytes already parsed that nothing needs any more (interim heads, chunk size lines,
// trailers, body bytes not kept) by moving the unparsed rest down behind the kept body. Only
// when a read would otherwise grow the buffer, so its cost is amortised over the bytes dropped.
void ResponseParser::reclaim() {
  const auto keep_end = phase_ == Phase::head ? 0 : body_begin_ + body_size_;
  if (parsed_ <= keep_end) return;
  std::memmove(buffer_.data() + keep_end, buffer_.data() + parsed_, end_ - parsed_);
  end_ -= parsed_ - keep_end;
  parsed_ = keep_end;
}

ResponseParser::State ResponseParser::commit(std::size_t bytes) {
  end_ += bytes;
  if (state_ == State::complete && bytes) return fail("bytes arrived beyond the end of the response");
  if (state_ != State::need_more) return state_;
  return parse();
}

ResponseParser::State ResponseParser::end_of_stream() {
  if (state_ != State::need_more) return state_;
  if (phase_ == Phase::until_close) {
    phase_ = Phase::done;
    return state_ = State::complete;
  }
  return fail(phase_ == Phase::head ? "the connection closed before a complete response head" : "the connection closed inside the body");
}

ResponseParser::State ResponseParser::fail(std::string_view why) {
  error_ = why;
  keep_alive_ = false;
  head_size_ = body_size_ = 0;  // a refused response has no head or body to look at
  return state_ = State::error;
}

// The end of the line that starts at parsed_, or npos; what was searched is not searched again.
std::size_t ResponseParser::find_line_end() {
  const auto from = parsed_ + (scanned_ ? scanned_ - 1 : 0);  // a '\r' may end the searched part
  const std::string_view data(buffer_.data() + from, end_ - from);
  const auto at = data.find("\r\n");
  if (at == std::string_view::npos) {
    scanned_ = end_ - parsed_;
    return std::string_view::npos;
  }
  scanned_ = 0;
  return from + at;
}

// How long the line at parsed_ is, as far as it has arrived: up to `line_end`, or, while its end
// has not arrived, the bytes so far less a last '\r' (the first half of a CRLF cut by a read).
// The same figure either way, so that no limit's verdict depends on where the reads were cut.
std::size_t ResponseParser::line_bytes(std::size_t line_end) const {
  if (line_end != std::string_view::npos) return line_end - parsed_;
  const auto so_far = end_ - parsed_;
  return so_far && buffer_[end_ - 1] == '\r' ? so_far - 1 : so_far;
}

// `bytes` of body at parsed_: the first kept_body_ of the body are stored, contiguous from
// body_begin_ (chunked bodies are de-chunked in place); the rest is only counted.
void ResponseParser::take_body(std::size_t bytes) {
  const auto keep = std::min(bytes, kept_body_ - body_size_);
  const auto kept_end = body_begin_ + body_size_;
  if (keep && kept_end != parsed_) std::memmove(buffer_.data() + kept_end, buffer_.data() + parsed_, keep);
  body_size_ += keep;
  body_read_ += bytes;
  parsed_ += bytes;
}

bool ResponseParser::parse_head(std::string_view head) {
  // Status line: HTTP/1.x SSS reason
  if (head.size() < 12 || head.substr(0, 7) != "HTTP/1." || (head[7] != '0' && head[7] != '1') || head[8] != ' ') {
    fail("the status line is not HTTP/1.0 or HTTP/1.1");
    return false;
  }
  status_ = 0;
  for (int i = 9; i < 12; ++i) {
    if (head[static_cast<std::size_t>(i)] < '0' || head[static_cast<std::size_t>(i)] > '9') {
      fail("the status code is not three digits");
      return false;
    }
    status_ = status_ * 10 + (head[static_cast<std::size_t>(i)] - '0');
  }
  if (status_ < 100) {
    fail("the status code is below 100");
    return false;
  }
  keep_alive_ = head[7] == '1';
  auto rest = head.substr(head.find("\r\n") + 2);
  while (!rest.empty()) {
    const auto line_end = rest.find("\r\n");
    const auto line = rest.substr(0, line_end);
    rest.remove_prefix(line_end == std::string_view::npos ? rest.size() : line_end + 2);
    if (line.empty()) break;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      fail("a header line has no name or no ':'");
      return false;
    }
    const auto name = line.substr(0, colon);
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (iequals(name, "content-length")) {
      if (value.empty() || value.size() > 15 || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        fail("Content-Length is not a number");
        return false;
      }
      std::size_t length = 0;
      for (char c : value) length = length * 10 + static_cast<std::size_t>(c - '0');
      if (has_content_length_ && length != content_length_) {
        fail("two different Content-Length headers");
        return false;
      }
      has_content_length_ = true;
      content_length_ = length;
    } else if (iequals(name, "transfer-encoding")) {
      chunked_ = has_token(value, "chunked");
    } else if (iequals(name, "connection")) {
      if (has_token(value, "close")) keep_alive_ = false;
      else if (has_token(value, "keep-alive")) keep_alive_ = true;
    } else if (iequals(name, "server-timing") && server_time_ns_ < 0) {
      server_time_ns_ = server_timing_duration_ns(value);
    }
  }
  return true;
}

ResponseParser::State ResponseParser::parse() {
  for (;;) {
    switch (phase_) {
      case Phase::head: {
        // Interim heads before this one count towards its limit: an endless stream of 100
        // Continue is one head too large, not a wait for ever.
        const auto limit = max_header_ - section_bytes_;
        const std::string_view data(buffer_.data() + parsed_, std::min(end_ - parsed_, limit));
        const auto from = scanned_ > 3 ? scanned_ - 3 : 0;
        const auto blank = data.find("\r\n\r\n", from);
        if (blank == std::string_view::npos) {
          scanned_ = data.size();
          if (end_ - parsed_ >= limit) return fail("the response head is larger than the limit");
          return State::need_more;
        }
        has_content_length_ = chunked_ = false;
        if (!parse_head(data.substr(0, blank + 4))) return state_;
        parsed_ += blank + 4;
        scanned_ = 0;
        // uptake asks for no upgrade, and could not speak the protocol switched to.
        if (status_ == 101) return fail("101 Switching Protocols answers a request that asked for no upgrade");
        if (status_ < 200) {  // an interim response (100 Continue): the real one follows
          section_bytes_ += blank + 4;
          continue;
        }
        section_bytes_ = 0;
        head_begin_ = parsed_ - (blank + 4);
        head_size_ = blank + 2;  // the last header line's CRLF, not the blank line's
        body_begin_ = parsed_;
        body_size_ = body_read_ = 0;
        if (head_request_ || status_ == 204 || status_ == 304) {
          phase_ = Phase::done;
        } else if (chunked_) {
          phase_ = Phase::chunk_size;
        } else if (has_content_length_) {
          if (content_length_ > max_body_) return fail("the body is larger than the limit");
          remaining_ = content_length_;
          phase_ = remaining_ ? Phase::fixed_body : Phase::done;
        } else {
          keep_alive_ = false;  // the body ends where the connection does
          phase_ = Phase::until_close;
        }
        break;
      }
      case Phase::fixed_body: {
        const auto take = std::min(end_ - parsed_, remaining_);
        take_body(take);
        remaining_ -= take;
        if (remaining_) return State::need_more;
        phase_ = Phase::done;
        break;
      }
      case Phase::chunk_size: {
        const auto line_end = find_line_end();
        if (line_bytes(line_end) > 1024) return fail("a chunk size line is too long");
        if (line_end == std::string_view::npos) return State::need_more;
        std::size_t size = 0;
        std::size_t digits = 0;
        for (std::size_t i = parsed_; i < line_end; ++i, ++digits) {
          const char c = buffer_[i];
          int value = -1;
          if (c >= '0' && c <= '9') value = c - '0';
          else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') value = (c | 0x20) - 'a' + 10;
          if (value < 0) break;  // chunk extensions (";name=value") and spaces end the size
          if (digits >= 15) return fail("a chunk size is too large");
          size = size * 16 + static_cast<std::size_t>(value);
        }
        if (digits == 0) return fail("a chunk size is not hexadecimal");
        parsed_ = line_end + 2;
        if (size == 0) {
          phase_ = Phase::trailers;
          break;
        }
        if (body_read_ + size > max_body_) return fail("the body is larger than the limit");
        remaining_ = size;
        phase_ = Phase::chunk_data;
        break;
      }
      case Phase::chunk_data: {
        const auto take = std::min(end_ - parsed_, remaining_);
        take_body(take);
        remaining_ -= take;
        if (remaining_) return State::need_more;
        phase_ = Phase::chunk_data_end;
        break;
      }
      case Phase::chunk_data_end: {
        if (end_ - parsed_ < 2) return State::need_more;
        if (buffer_[parsed_] != '\r' || buffer_[parsed_ + 1] != '\n') return fail("a chunk does not end with CRLF");
        parsed_ += 2;
        phase_ = Phase::chunk_size;
        break;
      }
      case Phase::trailers: {
        // All trailer lines together share the head limit, as the lines of a head do.
        const auto line_end = find_line_end();
        const auto bytes = line_bytes(line_end);
        if (section_bytes_ + bytes > max_header_) return fail("the trailers are larger than the limit");
        if (line_end == std::string_view::npos) return State::need_more;
        section_bytes_ += bytes + 2;
        parsed_ = line_end + 2;
        if (bytes == 0) phase_ = Phase::done;
        break;
      }
      case Phase::until_close: {
        take_body(end_ - parsed_);
        if (body_read_ > max_body_) return fail("the body is larger than the limit");
        return State::need_more;
      }
      case Phase::done:
        if (end_ != parsed_) return fail("bytes arrived beyond the end of the response");
        return state_ = State::complete;
    }
  }
}

}  // namespace uptake::loadgen
