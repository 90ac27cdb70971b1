#pragma once
// An incremental HTTP/1.1 response parser made for the load generator's hot path: it owns one
// growable read buffer per connection (reads go straight into it), finds the status, the body's
// framing (Content-Length, chunked, or until close) and keep-alive, and hands out the body as a
// view. It keeps no header fields: nothing is allocated per response once the buffer has grown
// to the largest response seen; the final head's bytes stay in the buffer, before the body, for
// the header lookups of checks and captures (find_header). Beast's general parser builds a field container per response,
// which costs more than the rest of a request's work in closed-loop runs.
//
// Every part of a response is bounded, so a hostile target cannot grow the buffer: the head
// together with any interim (1xx) heads before it and the trailers by max_header_bytes, each
// chunk size line by 1 KiB, the body by max_body_bytes, and of the body only the start the
// caller asks to keep is stored (bytes already parsed and not kept are reclaimed before the
// buffer grows). One exchange, one response: bytes beyond its end are an error.
//
// Thread-safety: none; one parser per connection.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace uptake::loadgen {

// The bounds of one response, over HTTP/1.1 and HTTP/2 alike.
inline constexpr std::size_t kMostResponseBodyBytes = 16 * 1024 * 1024;
inline constexpr std::size_t kMostResponseHeadBytes = 64 * 1024;

class ResponseParser {
 public:
  enum class State { need_more, complete, error };

  explicit ResponseParser(std::size_t max_body_bytes = kMostResponseBodyBytes, std::size_t max_header_bytes = kMostResponseHeadBytes);

  // Starts the next response, with an empty buffer. `head_request`: the request was HEAD, so the
  // response has no body whatever it says. `kept_body_bytes`: how much of the body body() keeps;
  // the rest is still read and held to the body limit, then dropped.
  void start(bool head_request = false, std::size_t kept_body_bytes = std::numeric_limits<std::size_t>::max());

  // Where the next read goes: free space of at least `minimum` bytes at the end of the buffer.
  std::span<char> prepare(std::size_t minimum = 4096);
  // `bytes` were read into the span prepare() returned; parses as far as they allow. Bytes beyond
  // the end of the response, in this read or a later one, make it an error: they answer no
  // request (an unsolicited response, more than Content-Length said).
  State commit(std::size_t bytes);
  // The connection reached end of file: completes a body delimited by the close, else an error
  // (a response cut short).
  State end_of_stream();

  State state() const noexcept { return state_; }
  int status() const noexcept { return status_; }
  // Whether the connection may carry another request (HTTP/1.1 without "Connection: close",
  // HTTP/1.0 with "Connection: keep-alive"; never after a body delimited by the close).
  bool keep_alive() const noexcept { return keep_alive_; }
  // The body, de-chunked, as far as start() asked to keep it; valid until the next start().
  std::string_view body() const noexcept { return {buffer_.data() + body_begin_, body_size_}; }
  // The final (not interim) response's head: its status line and header lines, each ending in
  // CRLF, without the blank line. Empty until the head is parsed, and after an error; valid until
  // the next start(). Reclaiming parsed bytes never moves it: it lies before the kept body.
  std::string_view head() const noexcept { return {buffer_.data() + head_begin_, head_size_}; }
  // The target's own time for the response, from its Server-Timing header: the first metric's
  // `dur` (milliseconds, as the header writes it) in nanoseconds; -1 when the response has no
  // such header, or its duration is not a number from 0 to an hour. Valid until the next start().
  std::int64_t server_time_ns() const noexcept { return server_time_ns_; }
  // Why the response was refused, for people; empty unless state() is error.
  std::string_view error() const noexcept { return error_; }
  // Whether nothing of the current response has arrived yet (a close now is a clean close).
  bool idle() const noexcept { return phase_ == Phase::head && end_ == parsed_; }

 private:
  enum class Phase { head, fixed_body, chunk_size, chunk_data, chunk_data_end, trailers, until_close, done };
  State fail(std::string_view why);
  State parse();
  bool parse_head(std::string_view head);
  std::size_t find_line_end();
  std::size_t line_bytes(std::size_t line_end) const;
  void take_body(std::size_t bytes);
  void reclaim();

  std::vector<char> buffer_;
  std::size_t end_ = 0;          // bytes in buffer_
  std::size_t parsed_ = 0;       // bytes of buffer_ consumed by the parse so far
  std::size_t head_begin_ = 0;
  std::size_t head_size_ = 0;
  std::size_t body_begin_ = 0;
  std::size_t body_size_ = 0;    // de-chunked body bytes kept, stored from body_begin_
  std::size_t body_read_ = 0;    // de-chunked body bytes read, kept or not (for the body limit)
  std::size_t kept_body_ = 0;    // how many body bytes to keep
  std::size_t remaining_ = 0;    // fixed body or current chunk: bytes still to come
  std::size_t scanned_ = 0;      // head or line: bytes after parsed_ already searched for its end
  std::size_t section_bytes_ = 0;  // interim heads, or trailers, parsed so far (they share the head limit)
  std::size_t content_length_ = 0;
  bool has_content_length_ = false;
  bool chunked_ = false;
  std::size_t max_body_;
  std::size_t max_header_;
  Phase phase_ = Phase::head;
  State state_ = State::need_more;
  int status_ = 0;
  bool keep_alive_ = true;
  bool head_request_ = false;
  std::int64_t server_time_ns_ = -1;
  std::string_view error_;
};

// The value of the first header field named `name` (case-insensitive) in a response head as
// ResponseParser::head() gives it, without surrounding spaces and tabs; std::nullopt when the
// head has no such field. The status line is never taken for a field.
std::optional<std::string_view> find_header(std::string_view head, std::string_view name) noexcept;
// The same, from the line at offset `from` on (0: the first field), leaving `from` after the
// field found: repeated calls visit every field of that name in order (Set-Cookie).
std::optional<std::string_view> find_header(std::string_view head, std::string_view name, std::size_t& from) noexcept;

// A Server-Timing header's first metric's `dur` (milliseconds) in nanoseconds; -1 when it has
// none, or one that is not a number from 0 to an hour.
std::int64_t server_timing_duration_ns(std::string_view value);

}  // namespace uptake::loadgen
