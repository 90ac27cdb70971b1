#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "loopback_listener.hpp"
#include "uptake/base/random.hpp"
#include "uptake/loadgen/response_parser.hpp"

using namespace uptake;
using namespace uptake::loadgen;
using State = ResponseParser::State;

namespace {

// Feeds `wire` in pieces of the given sizes (cycled), as reads from a socket would deliver it,
// to its end or an error: bytes after a complete response still arrive.
State feed(ResponseParser& parser, std::string_view wire, const std::vector<std::size_t>& pieces = {1 << 20}) {
  State state = parser.state();
  std::size_t at = 0, piece = 0;
  while (at < wire.size() && state != State::error) {
    const auto size = std::min(pieces[piece++ % pieces.size()], wire.size() - at);
    auto space = parser.prepare(size);
    std::memcpy(space.data(), wire.data() + at, size);
    at += size;
    state = parser.commit(size);
  }
  return state;
}

std::string fmt_chunk(std::string_view data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
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

TEST_CASE("the final head stays readable beside the body, and its fields are found by name") {
  // An interim head first, a chunked body larger than the buffer, and a body kept only in part:
  // the bytes reclaimed as the body arrives never include the head.
  const std::string body(20000, 'b');
  std::string chunked;
  for (std::size_t at = 0; at < body.size(); at += 3000) chunked += fmt_chunk(body.substr(at, 3000));
  const std::string final_head = "HTTP/1.1 201 Created\r\nLocation:  /v1/certificates/c-42 \r\nSet-Cookie: a=1\r\ntransfer-encoding: chunked\r\n";
  const std::string wire = "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n" + final_head + "\r\n" + chunked + "0\r\n\r\n";
  for (const std::size_t kept : {std::size_t{0}, std::size_t{10}, std::numeric_limits<std::size_t>::max()}) {
    for (const std::size_t piece : {std::size_t{1}, std::size_t{100}, wire.size()}) {
      ResponseParser parser;
      parser.start(false, kept);
      INFO("kept " << kept << ", pieces of " << piece);
      REQUIRE(feed(parser, wire, {piece}) == State::complete);
      CHECK(parser.head() == final_head);
      CHECK(parser.body().size() == std::min(kept, body.size()));
      CHECK(find_header(parser.head(), "location") == "/v1/certificates/c-42");
      CHECK(find_header(parser.head(), "SET-COOKIE") == "a=1");
      CHECK_FALSE(find_header(parser.head(), "X-Interim"));  // the interim head's, not this one's
      CHECK_FALSE(find_header(parser.head(), "Locatio"));
    }
  }
  // Nothing before a head is parsed, nothing after an error.
  ResponseParser parser;
  parser.start();
  CHECK(feed(parser, "HTTP/1.1 200 OK\r\nContent-Len") == State::need_more);
  CHECK(parser.head().empty());
  CHECK(feed(parser, "gth: x\r\n\r\n") == State::error);
  CHECK(parser.head().empty());
  CHECK_FALSE(find_header("HTTP/1.1 200 OK", "HTTP/1.1 200 OK"));  // a status line is never a field
  CHECK_FALSE(find_header("", "a"));
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

TEST_CASE("bytes beyond the end of a response are an error, whether they came with it or after it") {
  // An unsolicited second response, or more bytes than Content-Length said: they belong to no
  // request, and crediting them to the next one would record its answer before it was sent.
  for (const std::string beyond : {"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", "x"}) {
    for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{1 << 20}}) {
      INFO(beyond << " in pieces of " << piece);
      ResponseParser parser;
      parser.start();
      CHECK(feed(parser, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + beyond, {piece}) == State::error);
      CHECK(parser.error() == "bytes arrived beyond the end of the response");
      CHECK_FALSE(parser.keep_alive());
    }
  }
  // The next response starts empty: nothing is carried over.
  ResponseParser parser;
  parser.start();
  REQUIRE(feed(parser, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") == State::complete);
  parser.start();
  CHECK(parser.idle());
  CHECK(feed(parser, "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope") == State::complete);
  CHECK(parser.status() == 404);
}

TEST_CASE("101 Switching Protocols answers a request that asked for no upgrade: an error") {
  ResponseParser parser;
  parser.start();
  CHECK(feed(parser, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n") == State::error);
  CHECK_FALSE(parser.keep_alive());
}

TEST_CASE("interim heads and trailers count towards the head limit, however many lines they take") {
  // Each of them is small; an endless stream of them is not.
  auto outcome = [](const std::string& head, const std::string& repeated) {
    ResponseParser parser(1 << 20, 1024);
    parser.start();
    State state = feed(parser, head);
    for (int i = 0; i < 10'000 && state == State::need_more; ++i) state = feed(parser, repeated);
    return std::pair{state, std::string(parser.error())};
  };
  CHECK(outcome("", "HTTP/1.1 100 Continue\r\n\r\n") == std::pair{State::error, std::string("the response head is larger than the limit")});
  CHECK(outcome("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", "X-Trailer: 1\r\n") ==
        std::pair{State::error, std::string("the trailers are larger than the limit")});
  // A few of them, as real servers send, are fine.
  ResponseParser parser(1 << 20, 1024);
  parser.start();
  CHECK(feed(parser, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nA: 1\r\nB: 2\r\n\r\n") == State::complete);
  CHECK(parser.status() == 200);
  CHECK(parser.body() == "ok");
}

TEST_CASE("a line exactly at its limit is accepted however the reads cut it, even between CR and LF") {
  // A chunk size line of 1,024 bytes and trailers of exactly the head limit are within the
  // limits; a read that ends on the line's '\r' must not count that '\r' as a byte of the line.
  const std::string chunk_line = "2;" + std::string(1022, 'x');
  const std::string trailer = "X-T: " + std::string(1024 - 5 - 2, 'y');  // with its CRLF, 1,024 bytes
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const auto& wire : {head + chunk_line + "\r\nok\r\n0\r\n\r\n", head + "2\r\nok\r\n0\r\n" + trailer + "\r\n\r\n"}) {
    for (std::size_t piece = 1; piece <= wire.size(); piece += 1) {
      ResponseParser parser(1 << 20, 1024);
      parser.start();
      INFO("pieces of " << piece);
      REQUIRE(feed(parser, wire, {piece}) == State::complete);
      CHECK(parser.body() == "ok");
    }
  }
}

TEST_CASE("a body nothing captures is read and counted, but only its start is kept") {
  const std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n, worl\r\n1\r\nd\r\n0\r\n\r\n";
  for (std::size_t piece : {std::size_t{1}, std::size_t{4}, wire.size()}) {
    ResponseParser parser;
    parser.start(false, 7);
    REQUIRE(feed(parser, wire, {piece}) == State::complete);
    CHECK(parser.body() == "hello, ");
  }
  ResponseParser parser;
  parser.start(false, 3);
  REQUIRE(feed(parser, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world", {2}) == State::complete);
  CHECK(parser.body() == "hel");
  parser.start(false, 3);
  REQUIRE(feed(parser, "HTTP/1.0 200 OK\r\n\r\nuntil the end", {5}) == State::need_more);
  REQUIRE(parser.end_of_stream() == State::complete);
  CHECK(parser.body() == "unt");
}

TEST_CASE("hostile input of 200 MB leaves the parser's memory bounded") {
  // Each stream is sent in 64 KiB reads, as a fast target would deliver it; the parser must
  // refuse it or drop what it has read, never hold it.
  constexpr std::size_t kHostile = 200u << 20;
  auto repeat = [](std::string_view unit) {
    std::string block;
    while (block.size() < (64u << 10)) block += unit;
    return block;
  };
  struct Stream {
    const char* what;
    std::string head;
    std::string block;
    std::size_t kept_body;
  };
  const Stream streams[] = {
      {"endless interim heads", "", repeat("HTTP/1.1 100 Continue\r\n\r\n"), ~std::size_t{0}},
      {"endless trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", repeat("X-Trailer: 1\r\n"), ~std::size_t{0}},
      {"chunks of one byte behind long extensions", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
       repeat("1;" + std::string(1000, 'e') + "\r\nx\r\n"), ~std::size_t{0}},
      {"a body nothing captures", "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kHostile) + "\r\n\r\n", std::string(64u << 10, 'x'), 256},
  };
  for (const auto& stream : streams) {
    INFO(stream.what);
    const auto before = test::resident_bytes();
    ResponseParser parser(kHostile, 64 * 1024);
    parser.start(false, stream.kept_body);
    State state = feed(parser, stream.head);
    std::size_t sent = stream.head.size();
    while (state == State::need_more && sent < kHostile) {
      state = feed(parser, stream.block);
      sent += stream.block.size();
    }
    const auto grown = static_cast<double>(test::resident_bytes()) - static_cast<double>(before);
    INFO("resident memory grew by " << grown / (1 << 20) << " MiB after " << sent / (1 << 20) << " MiB of input");
    CHECK(grown < 100.0 * (1 << 20));
  }
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
