#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "uptake/base/random.hpp"
#include "uptake/loadgen/response_parser.hpp"

using namespace uptake;
using namespace uptake::loadgen;
using State = ResponseParser::State;

namespace {

// Feeds `wire` in pieces of the given sizes (cycled), as reads from a socket would deliver it.
State feed(ResponseParser& parser, std::string_view wire, const std::vector<std::size_t>& pieces = {1 << 20}) {
  State state = parser.state();
  std::size_t at = 0, piece = 0;
  while (at < wire.size() && state == State::need_more) {
    const auto size = std::min(pieces[piece++ % pieces.size()], wire.size() - at);
    auto space = parser.prepare(size);
    std::memcpy(space.data(), wire.data() + at, size);
    at += size;
    state = parser.commit(size);
  }
  return state;
}

}  // namespace

TEST_CASE("Content-Length bodies, whole or a byte at a time") {
  const std::string wire = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\ncontent-length: 13\r\n\r\n{\"id\":\"abc\"}\n";
  for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{7}, wire.size()}) {
    ResponseParser parser;
    parser.start();
    REQUIRE(feed(parser, wire, {piece}) == State::complete);
    CHECK(parser.status() == 201);
    CHECK(parser.keep_alive());
    CHECK(parser.body() == "{\"id\":\"abc\"}\n");
  }
}

TEST_CASE("chunked bodies are de-chunked, with extensions and trailers, split anywhere") {
  const std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
                           "5\r\nhello\r\n1;name=value\r\n,\r\nA\r\n worldwide\r\n0\r\nX-Trailer: 1\r\n\r\n";
  for (std::size_t piece = 1; piece <= wire.size(); ++piece) {
    ResponseParser parser;
    parser.start();
    INFO("pieces of " << piece);
    REQUIRE(feed(parser, wire, {piece}) == State::complete);
    CHECK(parser.body() == "hello, worldwide");
  }
}

TEST_CASE("responses without a body, interim responses and bodies delimited by the close") {
  ResponseParser parser;
  parser.start();
  CHECK(feed(parser, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n") == State::complete);
  CHECK(parser.status() == 204);
  CHECK(parser.body().empty());

  parser.start(true);  // HEAD: the length describes a body that is not sent
  CHECK(feed(parser, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n") == State::complete);
  CHECK(parser.body().empty());

  parser.start();
  CHECK(feed(parser, "HTTP/1.0 200 OK\r\n\r\nuntil the end") == State::need_more);
  CHECK(parser.end_of_stream() == State::complete);
  CHECK(parser.body() == "until the end");
  CHECK_FALSE(parser.keep_alive());
}

TEST_CASE("keep-alive follows the version and the Connection header") {
  ResponseParser parser;
  parser.start();
  feed(parser, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  CHECK_FALSE(parser.keep_alive());
  parser.start();
  feed(parser, "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n");
  CHECK(parser.keep_alive());
  parser.start();
  feed(parser, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  CHECK_FALSE(parser.keep_alive());
}

TEST_CASE("Server-Timing: the first metric's duration, in nanoseconds") {
  ResponseParser parser;
  const auto server_time = [&](std::string_view header) {
    parser.start();
    const auto wire = "HTTP/1.1 200 OK\r\n" + std::string(header) + "Content-Length: 0\r\n\r\n";
    REQUIRE(feed(parser, wire) == State::complete);
    return parser.server_time_ns();
  };
  CHECK(server_time("") == -1);
  CHECK(server_time("Server-Timing: app;dur=12.5\r\n") == 12'500'000);
  CHECK(server_time("server-timing: app;desc=\"x\";dur=0.25 , db;dur=4\r\n") == 250'000);
  CHECK(server_time("Server-Timing: cache;desc=hit, app;dur=3\r\n") == -1);  // the first metric has none
  // Malformed durations are ignored, not refused: the response itself is fine.
  CHECK(server_time("Server-Timing: app;dur=abc\r\n") == -1);
  CHECK(server_time("Server-Timing: app;dur=-1\r\n") == -1);
  CHECK(server_time("Server-Timing: app;dur=1e300\r\n") == -1);
  CHECK(server_time("Server-Timing: app;dur=\r\n") == -1);
  CHECK(server_time("Server-Timing: app;dur=7\r\nServer-Timing: app;dur=9\r\n") == 7'000'000);
  // And the next response starts without it.
  CHECK(server_time("") == -1);
}

TEST_CASE("bytes beyond one response start the next") {
  ResponseParser parser;
  parser.start();
  REQUIRE(feed(parser, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope") == State::complete);
  CHECK(parser.body() == "ok");
  parser.start();
  REQUIRE(parser.state() == State::complete);
  CHECK(parser.status() == 404);
  CHECK(parser.body() == "nope");
}

TEST_CASE("garbage, truncation and oversize are errors, never crashes") {
  auto outcome = [](std::string_view wire, bool close_after = false) {
    ResponseParser parser(64, 128);
    parser.start();
    auto state = feed(parser, wire);
    if (close_after && state == State::need_more) state = parser.end_of_stream();
    return std::pair{state, std::string(parser.error())};
  };
  CHECK(outcome("SSH-2.0-OpenSSH\r\n\r\n").first == State::error);
  CHECK(outcome("HTTP/1.1 2x0 OK\r\n\r\n").second == "the status code is not three digits");
  CHECK(outcome("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n").first == State::error);
  CHECK(outcome("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").second == "Content-Length is not a number");
  CHECK(outcome("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").first == State::error);
  CHECK(outcome("HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n").second == "the body is larger than the limit");
  CHECK(outcome("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").second == "a chunk size is not hexadecimal");
  CHECK(outcome("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY").second == "a chunk does not end with CRLF");
  CHECK(outcome(std::string(200, 'H')).second == "the response head is larger than the limit");
  CHECK(outcome("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true).second == "the connection closed inside the body");
  CHECK(outcome("HTTP/1.1 20", true).first == State::error);

  // Random bytes: whatever they are, the parser answers and stays within its limits.
  Random random(5);
  for (int round = 0; round < 2000; ++round) {
    std::string wire = round % 2 ? "HTTP/1.1 200 OK\r\n" : "";
    const auto length = random() % 300;
    for (std::uint64_t i = 0; i < length; ++i) wire += "\r\n:0aZ; -"[random() % 9];
    ResponseParser parser(64, 128);
    parser.start();
    const auto state = feed(parser, wire, {1 + random() % 17});
    CHECK(parser.body().size() <= 64);
    if (state == State::error) CHECK_FALSE(parser.error().empty());
  }
}
